//go:build unix

package pipeline_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the process has used, in user and system mode
// and on every thread (the garbage collector's included): unlike elapsed
// time, a busy neighbour on a shared machine does not add to it.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
