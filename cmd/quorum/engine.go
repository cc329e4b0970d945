package main

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/lockstep/quorum/kernel"
)

// status is an object's class in a report.
type status uint8

const (
	stAgreed     status = iota // every replica at the leader's state
	stRepair                   // quorate; some replicas lag or are outside the chain
	stSplitBrain               // two chains tie for longest
	stNoQuorum                 // the longest chain is not a quorum under the rule
	stCyclic                   // a vector depends on itself, or dependencies loop
	stConflict                 // one ID0 with two different ID1s
)

var statusNames = [...]string{"agreed", "repair", "split-brain", "no-quorum", "cyclic", "conflict"}

func (s status) String() string { return statusNames[s] }

// object is the verdict on one object of a batch.
type object struct {
	status status
	result kernel.Result // zero for cyclic and conflicting objects
	dec    *decision     // nil for cyclic and conflicting objects
	roles  []kernel.Role // each replica's role; nil when every replica is current
}

// batch is a run of consecutive objects, read from every replica.
type batch struct {
	first   int64 // index of the batch's first object
	count   int
	data    [][]byte // one buffer per replica
	results []kernel.Result
	bad     []status // stCyclic or stConflict, 0 for a good object
	objs    []object
	roles   []kernel.Role // count*n, sliced into objs[i].roles
	err     error         // the read failed
}

// engine reads the replicas batch by batch (the next batch is read while
// the current one is decided), runs the kernel on each, decides every
// object, and hands each batch to the report and, when repairing, to the
// repairer.
type engine struct {
	set      *replicaSet
	n        int
	decider  *decider
	visit    []func(b *batch) error // in order, for every batch
	progress progress

	sub       [][]byte // sources of a resumed Calculate
	vecs      [][]byte // one object's vectors, for kernel.Roles
	depth     []int    // one object's chainDepths
	unanimous decision // every replica current: decided once
	uStatus   status

	// The previous decided object: consecutive objects of a degraded
	// replica set usually have the same shape (result, roles and each
	// replica's distance behind the leader), and decide is then called
	// once for the run.
	lastOK     bool
	lastR      kernel.Result
	lastRoles  []kernel.Role
	lastDepth  []int
	lastDec    *decision
	lastStatus status
}

func newEngine(set *replicaSet, dec *decider, prog progress) (*engine, error) {
	n := len(set.files)
	e := &engine{set: set, n: n, decider: dec, progress: prog, sub: make([][]byte, n), vecs: make([][]byte, n), depth: make([]int, n)}
	// Every replica at one state: any valid vector, n times.
	all := make([]kernel.Role, n)
	same := make([][]byte, n)
	v := make([]byte, kernel.VectorSize)
	v[0], v[kernel.IDSize] = 1, 2
	for i := range all {
		all[i], same[i] = kernel.Current, v
	}
	r := kernel.Result{Leader: 0, Length: uint8(n)}
	var err error
	if e.unanimous, err = dec.decide(same, r, all); err != nil {
		return nil, err
	}
	clear(e.depth)
	st, err := e.statusOf(&e.unanimous, r, all, e.depth)
	if err != nil {
		return nil, err
	}
	e.uStatus = st
	return e, nil
}

func (e *engine) newBatch(objects int) *batch {
	g := e.set.geo
	b := &batch{
		data:    make([][]byte, e.n),
		results: make([]kernel.Result, objects),
		bad:     make([]status, objects),
		objs:    make([]object, objects),
		roles:   make([]kernel.Role, objects*e.n),
	}
	for i := range b.data {
		b.data[i] = make([]byte, objects*g.objectSize)
	}
	return b
}

// run scans every object in order.
func (e *engine) run() error {
	g := e.set.geo
	total := e.set.objects
	if total == 0 {
		return nil
	}
	per := int64(g.batchBytes / g.objectSize)
	size := int(min(per, total))
	free := make(chan *batch, 2)
	full := make(chan *batch, 2)
	done := make(chan struct{})
	free <- e.newBatch(size)
	if total > per {
		free <- e.newBatch(size)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(full)
		for first := int64(0); first < total; first += per {
			var b *batch
			select {
			case b = <-free:
			case <-done:
				return
			}
			b.first, b.count = first, int(min(per, total-first))
			b.err = e.set.readBatch(b.data, first, b.count)
			select {
			case full <- b:
			case <-done:
				return
			}
			if b.err != nil {
				return
			}
		}
	})
	defer wg.Wait()
	defer close(done)
	for b := range full {
		if b.err != nil {
			return b.err
		}
		if err := e.calculate(b); err != nil {
			return err
		}
		if err := e.classify(b); err != nil {
			return err
		}
		for _, visit := range e.visit {
			if err := visit(b); err != nil {
				return err
			}
		}
		e.progress.add(int64(b.count) * int64(g.objectSize) * int64(e.n))
		free <- b
	}
	return nil
}

// calculate runs the kernel over the batch. A cyclic or conflicting object
// stops kernel.Calculate; it is marked bad and the batch resumes after it,
// so one corrupt object never hides the others.
func (e *engine) calculate(b *batch) error {
	g := e.set.geo
	clear(b.bad[:b.count])
	for from := 0; from < b.count; {
		for j := range e.sub {
			e.sub[j] = b.data[j][from*g.objectSize : b.count*g.objectSize]
		}
		err := kernel.Calculate(e.sub, g.vectorOffset, g.objectSize, b.results[from:b.count], nil)
		if err == nil {
			return nil
		}
		var oe *kernel.ObjectError
		if !errors.As(err, &oe) || oe.Index < 0 || from+oe.Index >= b.count {
			return fmt.Errorf("kernel: %w", err)
		}
		i := from + oe.Index
		b.bad[i] = stCyclic
		if errors.Is(oe.Err, kernel.ErrConflict) {
			b.bad[i] = stConflict
		}
		from = i + 1
	}
	return nil
}

// classify decides every object of the batch. Objects every replica agrees
// on (the usual case) take the unanimous decision without kernel.Roles.
func (e *engine) classify(b *batch) error {
	g := e.set.geo
	n := e.n
	for i := range b.count {
		o := &b.objs[i]
		if st := b.bad[i]; st != 0 {
			*o = object{status: st}
			continue
		}
		r := b.results[i]
		if !r.Forked && int(r.Length) == n && r.Repair == 0 {
			*o = object{status: e.uStatus, result: r, dec: &e.unanimous}
			continue
		}
		roles := b.roles[i*n : (i+1)*n]
		base := i*g.objectSize + g.vectorOffset
		for j := range n {
			e.vecs[j] = b.data[j][base : base+kernel.VectorSize]
		}
		r2, err := kernel.Roles(e.vecs, roles)
		if err != nil || r2 != r {
			return fmt.Errorf("object %d: kernel.Roles (%+v, %v) disagrees with kernel.Calculate (%+v): a kernel bug, nothing decided",
				b.first+int64(i), r2, err, r)
		}
		if err := chainDepths(e.vecs, e.depth); err != nil {
			return fmt.Errorf("object %d: kernel.Depths: %v (kernel.Roles accepted it): a kernel bug, nothing decided", b.first+int64(i), err)
		}
		if !e.lastOK || r != e.lastR || !slices.Equal(roles, e.lastRoles) || !slices.Equal(e.depth, e.lastDepth) {
			d, err := e.decider.decide(e.vecs, r, roles)
			if err != nil {
				e.lastOK = false
				return fmt.Errorf("object %d: %v", b.first+int64(i), err)
			}
			st, err := e.statusOf(&d, r, roles, e.depth)
			if err != nil {
				e.lastOK = false
				return fmt.Errorf("object %d: %v", b.first+int64(i), err)
			}
			e.lastOK, e.lastR, e.lastDec, e.lastStatus = true, r, &d, st
			e.lastRoles = append(e.lastRoles[:0], roles...)
			e.lastDepth = append(e.lastDepth[:0], e.depth...)
		}
		*o = object{status: e.lastStatus, result: r, dec: e.lastDec, roles: roles}
	}
	return nil
}

// statusOf maps a decision to a report status, after checking that its
// repair list is one the repairer may follow: empty unless quorate, and
// then exactly the replicas not at the leader's state, each once, in an
// order that never sends the quorum backwards (lagging replicas farthest
// behind first, by depth from chainDepths, then the outside ones). A
// decision that fails is a bug in decide, reported before anything of the
// batch is written.
func (e *engine) statusOf(d *decision, r kernel.Result, roles []kernel.Role, depth []int) (status, error) {
	switch d.verdict {
	case splitBrain:
		if !r.Forked || len(d.repair) > 0 {
			return 0, fmt.Errorf("decide: split-brain for a result %+v with repair %v", r, d.repair)
		}
		return stSplitBrain, nil
	case noQuorum:
		if len(d.repair) > 0 {
			return 0, fmt.Errorf("decide: no quorum but repair %v", d.repair)
		}
		return stNoQuorum, nil
	case quorate:
	default:
		return 0, fmt.Errorf("decide: unknown verdict %d", d.verdict)
	}
	if r.Forked || d.leader != int(r.Leader) {
		return 0, fmt.Errorf("decide: quorate with leader %d for a result %+v", d.leader, r)
	}
	if d.leader < 0 || d.leader >= e.n || roles[d.leader] != kernel.Current {
		return 0, fmt.Errorf("decide: leader %d is not a current replica (roles %v)", d.leader, roles)
	}
	seen := make([]bool, e.n)
	behind := 0
	for _, role := range roles {
		if role != kernel.Current {
			behind++
		}
	}
	prev := e.n + 1 // depth of the previous entry; -1 once among the outside replicas
	for _, t := range d.repair {
		if t < 0 || t >= e.n || seen[t] || roles[t] == kernel.Current {
			return 0, fmt.Errorf("decide: repair list %v names replica %d (roles %v, leader %d)", d.repair, t, roles, d.leader)
		}
		if depth[t] > prev {
			return 0, fmt.Errorf("decide: repair list %v writes replica %d (%d behind) after one %d behind or outside: the quorum could go backwards",
				d.repair, t, depth[t], prev)
		}
		seen[t], prev = true, depth[t]
	}
	if len(d.repair) != behind {
		return 0, fmt.Errorf("decide: repair list %v leaves out replicas behind the leader (roles %v)", d.repair, roles)
	}
	if len(d.repair) == 0 {
		return stAgreed, nil
	}
	return stRepair, nil
}
