// Package guard allocates buffers that sit against PROT_NONE pages, so that
// a kernel reading or writing one byte outside its slices faults at once
// instead of silently touching a neighbour. It exists on unix systems only.
package guard
