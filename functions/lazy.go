package functions

import (
	"context"
	"sync"
)

// Lazy builds a value on first use and keeps it. Unlike sync.Once a failed
// build is retried on the next call, so a storage outage at the first
// invocation does not poison the process for its lifetime.
type Lazy[T any] struct {
	New func(ctx context.Context) (T, error)

	mu   sync.Mutex
	v    T
	done bool
}

// Get returns the value, building it if needed.
func (l *Lazy[T]) Get(ctx context.Context) (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return l.v, nil
	}
	v, err := l.New(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	l.v, l.done = v, true
	return v, nil
}

// Value returns a Lazy that is already built.
func Value[T any](v T) *Lazy[T] { return &Lazy[T]{v: v, done: true} }

// Peek returns the value if it has been built, without building it.
func (l *Lazy[T]) Peek() (T, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.v, l.done
}

// Map returns a Lazy whose value is f applied to l's value; typically used to
// view a concrete client through the small interface a function declares.
func Map[T, U any](l *Lazy[T], f func(T) U) *Lazy[U] {
	return &Lazy[U]{New: func(ctx context.Context) (U, error) {
		v, err := l.Get(ctx)
		if err != nil {
			var zero U
			return zero, err
		}
		return f(v), nil
	}}
}
