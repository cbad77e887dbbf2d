// Knowledge-distillation math for the lessons' interactive demos.
//
// Pure functions, no DOM, no dependencies: an ES module that the browser loads
// with <script type="module"> (imported by temperature-demo.js) and Node imports
// as ESM (tests/frontend/test_kd_math.py checks it against PyTorch float64).
//
// Everything works in log space and subtracts the max logit before exp(), so
// logits in the hundreds neither overflow to Infinity nor underflow to a 0/0.

function checkTemperature(T) {
  if (typeof T !== "number" || !Number.isFinite(T) || T <= 0) {
    throw new RangeError(`temperature must be a finite number > 0, got ${T}`);
  }
}

function checkVector(v, name) {
  if (v == null || typeof v.length !== "number" || v.length === 0) {
    throw new TypeError(`${name} must be a non-empty array of numbers`);
  }
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== "number" || !Number.isFinite(v[i])) {
      throw new TypeError(`${name}[${i}] must be a finite number, got ${v[i]}`);
    }
  }
}

/**
 * log softmax(logits / T), computed as z - max(z) - log(sum(exp(z - max(z)))).
 * @param {ArrayLike<number>} logits
 * @param {number} [T=1] temperature, > 0
 * @returns {number[]}
 */
export function logSoftmax(logits, T = 1) {
  checkVector(logits, "logits");
  checkTemperature(T);
  const n = logits.length;
  const z = new Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    z[i] = logits[i] / T;
    if (z[i] > max) max = z[i];
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(z[i] - max);
  // sum >= 1 (the max term is exp(0)), so the log is always finite.
  const logSum = Math.log(sum);
  for (let i = 0; i < n; i++) z[i] = z[i] - max - logSum;
  return z;
}

/**
 * softmax(logits / T): the class probabilities at temperature T.
 * @param {ArrayLike<number>} logits
 * @param {number} [T=1] temperature, > 0 (T > 1 flattens, T < 1 sharpens)
 * @returns {number[]} probabilities summing to 1
 */
export function softmax(logits, T = 1) {
  checkVector(logits, "logits");
  checkTemperature(T);
  const n = logits.length;
  const out = new Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    out[i] = logits[i] / T;
    if (out[i] > max) max = out[i];
  }
  let sum = 0;
  for (let i = 0; i < n; i++) {
    out[i] = Math.exp(out[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < n; i++) out[i] /= sum;
  return out;
}

/**
 * KL(p ‖ q) = Σ p_i (log p_i − log q_i) in nats, for two probability vectors.
 * Terms with p_i = 0 contribute 0 (the 0·log 0 = 0 convention, like torch's
 * kl_div); a q_i = 0 where p_i > 0 gives Infinity.
 * @param {ArrayLike<number>} p target distribution (e.g. the teacher's)
 * @param {ArrayLike<number>} q approximating distribution (e.g. the student's)
 * @returns {number}
 */
export function klDivergence(p, q) {
  if (p == null || q == null || p.length !== q.length || p.length === 0) {
    throw new TypeError("p and q must be non-empty arrays of the same length");
  }
  let kl = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i];
    const qi = q[i];
    if (!(pi >= 0) || !(qi >= 0)) throw new RangeError(`probabilities must be >= 0 (index ${i})`);
    if (pi === 0) continue;
    if (qi === 0) return Infinity;
    kl += pi * (Math.log(pi) - Math.log(qi));
  }
  // Rounding can leave a tiny negative number for identical inputs; KL is >= 0.
  return kl > 0 ? kl : 0;
}

/**
 * KL(softmax(t/T) ‖ softmax(s/T)) computed from logits entirely in log space,
 * so it stays finite and accurate even when a probability underflows to 0.
 * @param {ArrayLike<number>} teacherLogits
 * @param {ArrayLike<number>} studentLogits
 * @param {number} [T=1]
 * @returns {number}
 */
export function klDivergenceFromLogits(teacherLogits, studentLogits, T = 1) {
  if (teacherLogits == null || studentLogits == null || teacherLogits.length !== studentLogits.length) {
    throw new TypeError("teacher and student logits must have the same length");
  }
  const logP = logSoftmax(teacherLogits, T);
  const logQ = logSoftmax(studentLogits, T);
  let kl = 0;
  for (let i = 0; i < logP.length; i++) {
    const pi = Math.exp(logP[i]);
    if (pi === 0) continue;
    kl += pi * (logP[i] - logQ[i]);
  }
  return kl > 0 ? kl : 0;
}

/**
 * The distillation soft loss of Hinton et al. (2015): T² · KL(p_T ‖ q_T) with
 * p_T = softmax(teacher/T), q_T = softmax(student/T). The T² keeps the soft
 * loss's gradients on the same scale as the hard-label loss as T changes.
 * Equals PyTorch's
 *   F.kl_div(F.log_softmax(s/T, -1), F.softmax(t/T, -1), reduction="batchmean") * T**2
 * for a single example.
 * @param {ArrayLike<number>} teacherLogits
 * @param {ArrayLike<number>} studentLogits
 * @param {number} T temperature, > 0
 * @returns {number}
 */
export function kdSoftLoss(teacherLogits, studentLogits, T) {
  return T * T * klDivergenceFromLogits(teacherLogits, studentLogits, T);
}

/**
 * Shannon entropy of a probability vector, in bits (0 = certain, log2(n) = uniform).
 * @param {ArrayLike<number>} p
 * @returns {number}
 */
export function entropyBits(p) {
  let h = 0;
  for (let i = 0; i < p.length; i++) if (p[i] > 0) h -= p[i] * Math.log2(p[i]);
  return h > 0 ? h : 0;
}

/** Index of the largest value (first one on ties): the "hard label". */
export function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
