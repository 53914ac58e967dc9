// Package expfree has graph functions — Softmax, Sigmoid, Swish and the
// cross-entropy of logits — that give GoMLX's values but whose Go-backend
// graphs never call the backend's Exp or Logistic ops.
//
// Why: those ops compute math.Exp one element at a time, and on our AVX-512
// machines math.Exp ran ~100× slower than usual after the backend's vector
// matmul kernels (in a dim-16 language model 80% of a training step's CPU
// time was math.Exp; docs/performance.md). The backend's fused softmax uses
// its own float32 exp, which stays fast, but GoMLX differentiates it through
// the decomposed softmax, with Exp again. Here the value comes from the fused
// softmax, and the gradient from elementwise arithmetic on that value:
// StopGradient(f(x)) + J·(x − StopGradient(x)), whose second term is exactly
// zero and has the Jacobian J as its gradient.
//
// On other backends (XLA) every function is GoMLX's own.
package expfree
