package kernel

import (
	"runtime"
	"sync"
)

// minObjectsPerWorker keeps each goroutine's share large enough that
// starting it costs little next to its work.
const minObjectsPerWorker = 1024

// CalculateParallel is Calculate with a large batch spread over up to
// workers goroutines (0 or less: GOMAXPROCS), each deciding one contiguous
// range of objects. Results and target are identical to Calculate's, and so
// is the error: an invalid object reports the lowest invalid index, with the
// same *ObjectError. Unlike Calculate, objects after an invalid one may have
// been written by other workers. Small batches (fewer than 1024 objects per
// worker) run on the calling goroutine; larger ones allocate the workers.
func CalculateParallel(sources [][]byte, vectorOffset, objectSize int, results []Result, target []byte, workers int) error {
	objects, err := validate(sources, vectorOffset, objectSize, results, target)
	if err != nil {
		return err
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, objects/minObjectsPerWorker)
	if workers <= 1 {
		return calculatorFor(objects, len(sources))(sources, vectorOffset, objectSize, 0, objects, results, target)
	}
	impl := active
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		from, to := objects*w/workers, objects*(w+1)/workers
		wg.Go(func() {
			errs[w] = impl.calculate(sources, vectorOffset, objectSize, from, to, results, target)
		})
	}
	wg.Wait()
	// Ranges are in object order and each stops at its first bad object,
	// so the first error found is the lowest bad object.
	return firstError(errs)
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
