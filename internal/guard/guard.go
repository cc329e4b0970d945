//go:build unix

package guard

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Buffer is size bytes ending exactly at a guard page (and, when size is a
// whole number of pages, starting exactly after one).
type Buffer struct {
	Bytes []byte
	mem   []byte
}

// New maps a buffer of size bytes between two guard pages, aligned to end
// at the upper guard.
func New(size int) (*Buffer, error) {
	page := unix.Getpagesize()
	data := (size + page - 1) / page * page
	mem, err := unix.Mmap(-1, 0, data+2*page, unix.PROT_NONE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("guard: mmap: %w", err)
	}
	if err := unix.Mprotect(mem[page:page+data], unix.PROT_READ|unix.PROT_WRITE); err != nil {
		unix.Munmap(mem)
		return nil, fmt.Errorf("guard: mprotect: %w", err)
	}
	end := page + data
	return &Buffer{Bytes: mem[end-size : end : end], mem: mem}, nil
}

// ReadOnly makes the buffer's pages read-only, so a write faults too.
func (b *Buffer) ReadOnly() error {
	page := unix.Getpagesize()
	return unix.Mprotect(b.mem[page:len(b.mem)-page], unix.PROT_READ)
}

// Free unmaps the buffer.
func (b *Buffer) Free() error { return unix.Munmap(b.mem) }
