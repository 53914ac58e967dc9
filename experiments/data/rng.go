package data

// rng is a SplitMix64 generator. The package uses it instead of math/rand so that datasets and batch
// orders stay byte-identical across Go releases (the standard library reserves the right to change its
// algorithms' output streams).
type rng struct{ state uint64 }

// newRNG derives an independent stream from a seed and any number of stream identifiers (for example an
// epoch number), so that related streams do not overlap in an obvious way.
func newRNG(seed int64, streams ...uint64) *rng {
	r := &rng{state: uint64(seed)}
	for _, s := range streams {
		r.state = mix64(r.state ^ mix64(s+0x9e3779b97f4a7c15))
	}
	return r
}

// mix64 is SplitMix64's output function.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) uint64() uint64 {
	r.state += 0x9e3779b97f4a7c15
	return mix64(r.state)
}

// intn returns a uniform value in [0, n) without modulo bias. It panics if n <= 0.
func (r *rng) intn(n int) int {
	if n <= 0 {
		panic("data: rng.intn: n must be > 0")
	}
	bound := uint64(n)
	limit := -bound % bound // (2^64 - bound) % bound: values below this would be biased.
	for {
		v := r.uint64()
		if v >= limit {
			return int(v % bound)
		}
	}
}

// perm returns a uniformly random permutation of [0, n) (Fisher–Yates).
func (r *rng) perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}
