// Knowledge-distillation math for the lessons' interactive demos.
//
// Pure functions, no DOM, no dependencies: an ES module that the browser loads
// with <script type="module"> (imported by temperature-demo.js and pipeline-demo.js) and
// Node imports as ESM (tests/frontend/test_kd_math.py and test_kd_pipeline_math.py check it
// against PyTorch float64).
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
 * loss's gradients roughly on the scale of the hard-label loss as T changes
 * (exactly only at high T with zero-mean logits).
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

// ---------- the distillation loss and its gradient, for the pipeline demo ----------

function checkLabel(label, n) {
  if (!Number.isInteger(label) || label < 0 || label >= n) {
    throw new RangeError(`label must be a class index from 0 to ${n - 1}, got ${label}`);
  }
}

function checkAlpha(alpha) {
  if (typeof alpha !== "number" || !Number.isFinite(alpha) || alpha < 0 || alpha > 1) {
    throw new RangeError(`alpha must be a number from 0 to 1, got ${alpha}`);
  }
}

function checkPair(teacherLogits, studentLogits) {
  checkVector(teacherLogits, "teacher logits");
  checkVector(studentLogits, "student logits");
  if (teacherLogits.length !== studentLogits.length) {
    throw new TypeError("teacher and student logits must have the same length");
  }
}

/**
 * Hard-label cross-entropy at T = 1: −log softmax(logits)[label], in nats.
 * Equals F.cross_entropy(logits[None], torch.tensor([label])).
 * @param {ArrayLike<number>} logits
 * @param {number} label index of the true class
 * @returns {number}
 */
export function crossEntropy(logits, label) {
  checkVector(logits, "logits");
  checkLabel(label, logits.length);
  return -logSoftmax(logits, 1)[label];
}

/**
 * The platform's distillation loss for one example, term by term:
 *   soft  = T² · KL(softmax(teacher/T) ‖ softmax(student/T))
 *   hard  = cross-entropy(student, label) at T = 1
 *   total = α · soft + (1 − α) · hard        (α weights the soft, teacher term)
 * @param {ArrayLike<number>} teacherLogits
 * @param {ArrayLike<number>} studentLogits
 * @param {number} label index of the true class
 * @param {number} T temperature, > 0
 * @param {number} alpha weight of the soft term, 0 to 1
 * @returns {{soft: number, hard: number, total: number}}
 */
export function distillationLoss(teacherLogits, studentLogits, label, T, alpha) {
  checkPair(teacherLogits, studentLogits);
  checkLabel(label, studentLogits.length);
  checkAlpha(alpha);
  const soft = kdSoftLoss(teacherLogits, studentLogits, T);
  const hard = crossEntropy(studentLogits, label);
  return { soft, hard, total: alpha * soft + (1 - alpha) * hard };
}

/**
 * ∂ total / ∂ student logits, in closed form:
 *   α · T · (softmax(student/T) − softmax(teacher/T)) + (1 − α) · (softmax(student) − onehot(label)).
 * (The soft term's T² meets the 1/T of the softmax's chain rule, leaving one T.) The teacher gets no
 * gradient: it is frozen.
 * @returns {number[]}
 */
export function distillationGradient(teacherLogits, studentLogits, label, T, alpha) {
  checkPair(teacherLogits, studentLogits);
  checkLabel(label, studentLogits.length);
  checkAlpha(alpha);
  const p = softmax(teacherLogits, T);
  const qT = softmax(studentLogits, T);
  const q = softmax(studentLogits, 1);
  return q.map((qi, i) => alpha * T * (qT[i] - p[i]) + (1 - alpha) * (qi - (i === label ? 1 : 0)));
}

/**
 * Plain gradient descent (torch.optim.SGD without momentum) on one example's student logits:
 * the smallest possible student, whose only parameters are its logits for this example.
 * @param {ArrayLike<number>} teacherLogits
 * @param {ArrayLike<number>} studentLogits the starting point (not modified)
 * @param {number} label
 * @param {{T: number, alpha: number, lr: number, steps: number}} options steps: a whole number, 0 to 10000
 * @returns {{logits: number[], history: {soft: number, hard: number, total: number}[]}}
 *   the logits after `steps` updates, and the loss before each update plus after the last
 *   (history[0] is the start, history[steps] the end).
 */
export function distillSteps(teacherLogits, studentLogits, label, { T, alpha, lr, steps }) {
  checkPair(teacherLogits, studentLogits);
  checkTemperature(T);
  if (typeof lr !== "number" || !Number.isFinite(lr) || lr <= 0) {
    throw new RangeError(`learning rate must be a finite number > 0, got ${lr}`);
  }
  if (!Number.isInteger(steps) || steps < 0 || steps > 10000) {
    throw new RangeError(`steps must be a whole number from 0 to 10000, got ${steps}`);
  }
  let logits = Array.from(studentLogits);
  const history = [distillationLoss(teacherLogits, logits, label, T, alpha)];
  for (let step = 0; step < steps; step++) {
    const grad = distillationGradient(teacherLogits, logits, label, T, alpha);
    logits = logits.map((s, i) => s - lr * grad[i]);
    history.push(distillationLoss(teacherLogits, logits, label, T, alpha));
  }
  return { logits, history };
}
