package report

import "slices"

// newest keeps the n newest of the rows added to it without holding the
// rest: a heap with the oldest kept row at the root, so a month of records
// costs one comparison per row that is not kept and O(log n) per row that is.
type newest[T any] struct {
	n     int
	newer func(x, y T) bool // x sorts before (is newer than) y
	h     []T
}

// wants reports whether add(x) would keep x; callers use it to skip
// building copies that would be dropped at once.
func (k *newest[T]) wants(x T) bool {
	return len(k.h) < k.n || k.newer(x, k.h[0])
}

func (k *newest[T]) add(x T) {
	if len(k.h) < k.n {
		k.h = append(k.h, x)
		for i := len(k.h) - 1; i > 0; {
			p := (i - 1) / 2
			if !k.newer(k.h[p], k.h[i]) {
				break
			}
			k.h[p], k.h[i] = k.h[i], k.h[p]
			i = p
		}
		return
	}
	if !k.newer(x, k.h[0]) {
		return
	}
	k.h[0] = x
	for i := 0; ; {
		o, l, r := i, 2*i+1, 2*i+2
		if l < len(k.h) && k.newer(k.h[o], k.h[l]) {
			o = l
		}
		if r < len(k.h) && k.newer(k.h[o], k.h[r]) {
			o = r
		}
		if o == i {
			return
		}
		k.h[i], k.h[o] = k.h[o], k.h[i]
		i = o
	}
}

// sorted returns the kept rows, newest first.
func (k *newest[T]) sorted() []T {
	out := slices.Clone(k.h)
	slices.SortFunc(out, func(x, y T) int {
		switch {
		case k.newer(x, y):
			return -1
		case k.newer(y, x):
			return 1
		}
		return 0
	})
	return out
}
