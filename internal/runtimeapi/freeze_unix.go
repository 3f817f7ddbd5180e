//go:build unix

package runtimeapi

import "syscall"

// Freeze stops the process where it is (SIGSTOP), as a function starved
// of CPU or stuck would be: it answers nothing until the deadline kills it.
func (r *Runtime) Freeze() {
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	if p != nil {
		_ = p.cmd.Process.Signal(syscall.SIGSTOP)
	}
}
