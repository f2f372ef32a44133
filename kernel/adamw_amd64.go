//go:build !purego

// Reference: Intel SDM vol. 2 (VCVTPS2PD, VCVTPD2PS, VDIVPD, VSQRTPD: IEEE-754 correctly rounded, as Go's
// float64 operations and math.Sqrt).

package kernel

func init() {
	if hasAVX2FMA { // the assembly needs only AVX; every AVX2 CPU has it
		adamw = adamwAVX
		useAsm("adamw")
	}
}

// adamwAVX runs the assembly over whole groups of four elements and the
// plain loop over the rest.
func adamwAVX(p, g, m, v []float32, c *adamConsts) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	k := n &^ 3
	if k > 0 {
		adamwAsm(k, &p[0], &g[0], &m[0], &v[0], c)
	}
	adamwGeneric(p[k:], g[k:], m[k:], v[k:], c)
}

// adamwAsm is adamwGeneric over n elements (n > 0, a multiple of 4), four
// lanes of float64 at a time, each operation rounded as the Go loop's:
//
//	for i := range n {
//		gi := float64(g[i])
//		mi := c.b1*float64(m[i]) + c.ob1*gi
//		vi := c.b2*float64(v[i]) + (c.ob2*gi)*gi
//		m[i], v[i] = float32(mi), float32(vi)
//		p[i] = float32(float64(p[i])*c.decay - c.lr*(mi/c.bc1)/(math.Sqrt(vi/c.bc2)+c.eps))
//	}
//
//go:noescape
func adamwAsm(n int, p, grad, m, v *float32, c *adamConsts)
