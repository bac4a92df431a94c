//! Small, dependency-free statistics used by the trend detectors: Poisson and binomial tails,
//! the Poisson rate-ratio test, Mann-Kendall with Sen's slope, and a Poisson-cost changepoint search.

/// `ln Γ(x)` (Lanczos approximation, |error| < 1e-13 for x > 0).
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularised lower incomplete gamma `P(a, x)`.
pub fn gamma_p(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x < a + 1.0 {
        // Series.
        let mut sum = 1.0 / a;
        let mut del = sum;
        let mut ap = a;
        for _ in 0..10_000 {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        (sum.ln() - x + a * x.ln() - ln_gamma(a)).exp().min(1.0)
    } else {
        1.0 - gamma_q_cf(a, x)
    }
}

/// Regularised upper incomplete gamma `Q(a, x) = 1 - P(a, x)`.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x < a + 1.0 {
        1.0 - gamma_p(a, x)
    } else {
        gamma_q_cf(a, x)
    }
}

fn gamma_q_cf(a: f64, x: f64) -> f64 {
    let tiny = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / tiny;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..10_000 {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < tiny {
            d = tiny;
        }
        c = b + an / c;
        if c.abs() < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    ((-x + a * x.ln() - ln_gamma(a)).exp() * h).clamp(0.0, 1.0)
}

/// `P(X ≤ k)` for `X ~ Poisson(mean)`.
pub fn poisson_cdf(k: u64, mean: f64) -> f64 {
    if mean <= 0.0 {
        return 1.0;
    }
    gamma_q(k as f64 + 1.0, mean)
}

/// `P(X ≥ k)` for `X ~ Poisson(mean)`.
pub fn poisson_sf(k: u64, mean: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if mean <= 0.0 {
        return 0.0;
    }
    gamma_p(k as f64, mean)
}

/// Regularised incomplete beta `I_x(a, b)`.
pub fn beta_inc(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        (ln_front.exp() * beta_cf(a, b, x) / a).clamp(0.0, 1.0)
    } else {
        (1.0 - ln_front.exp() * beta_cf(b, a, 1.0 - x) / b).clamp(0.0, 1.0)
    }
}

fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    let tiny = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..10_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < tiny {
            d = tiny;
        }
        c = 1.0 + aa / c;
        if c.abs() < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < tiny {
            d = tiny;
        }
        c = 1.0 + aa / c;
        if c.abs() < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// `P(X ≥ k)` for `X ~ Binomial(n, p)`.
pub fn binomial_sf(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    beta_inc(k as f64, (n - k + 1) as f64, p)
}

/// `P(X ≤ k)` for `X ~ Binomial(n, p)`.
pub fn binomial_cdf(k: u64, n: u64, p: f64) -> f64 {
    if k >= n {
        return 1.0;
    }
    1.0 - binomial_sf(k + 1, n, p)
}

/// Upper tail of the standard normal distribution.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    // Numerical Recipes erfcc (fractional error < 1.2e-7).
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    // Horner's scheme over the coefficients of t¹…t⁹ (kept as data: written out as nested
    // parentheses the expression is slow for rustfmt to lay out).
    const C: [f64; 9] = [
        1.000_023_68,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ];
    let poly = C[..8].iter().rev().fold(C[8], |acc, c| c + t * acc);
    let r = t * (-z * z - 1.265_512_23 + t * poly).exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The Poisson rate-ratio test (conditional binomial, two-sided): were `c1` events over exposure
/// `e1` and `c2` over `e2` drawn at the same rate? Returns `(ratio of rates 1/2, p-value)`.
pub fn rate_ratio_test(c1: u64, e1: f64, c2: u64, e2: f64) -> (f64, f64) {
    let ratio = if c2 == 0 || e1 <= 0.0 {
        f64::INFINITY
    } else {
        (c1 as f64 / e1) / (c2 as f64 / e2)
    };
    let n = c1 + c2;
    if n == 0 || e1 <= 0.0 || e2 <= 0.0 {
        return (ratio, 1.0);
    }
    let p = e1 / (e1 + e2);
    let lower = binomial_cdf(c1, n, p);
    let upper = binomial_sf(c1, n, p);
    (ratio, (2.0 * lower.min(upper)).min(1.0))
}

/// Result of the Mann-Kendall trend test with Sen's slope.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MannKendall {
    /// The S statistic.
    pub s: f64,
    /// Normal score (continuity-corrected, tie-corrected variance).
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Sen's slope: median of pairwise slopes, in units per step.
    pub sen_slope: f64,
}

/// Mann-Kendall test and Sen's slope over an evenly spaced series.
pub fn mann_kendall(x: &[f64]) -> MannKendall {
    let n = x.len();
    if n < 4 {
        return MannKendall {
            s: 0.0,
            z: 0.0,
            p_value: 1.0,
            sen_slope: 0.0,
        };
    }
    let mut s = 0i64;
    let mut slopes = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            let d = x[j] - x[i];
            s += (d > 0.0) as i64 - (d < 0.0) as i64;
            slopes.push(d / (j - i) as f64);
        }
    }
    // Tie correction.
    let mut sorted = x.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let mut ties = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && sorted[j + 1] == sorted[i] {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        if t > 1.0 {
            ties += t * (t - 1.0) * (2.0 * t + 5.0);
        }
        i = j + 1;
    }
    let nf = n as f64;
    let var = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - ties) / 18.0;
    let s = s as f64;
    let z = if var <= 0.0 {
        0.0
    } else if s > 0.0 {
        (s - 1.0) / var.sqrt()
    } else if s < 0.0 {
        (s + 1.0) / var.sqrt()
    } else {
        0.0
    };
    let p_value = (2.0 * normal_sf(z.abs())).min(1.0);
    let sen_slope = median(&mut slopes);
    MannKendall {
        s,
        z,
        p_value,
        sen_slope,
    }
}

/// Median (sorts the slice in place); 0 for an empty slice.
pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Poisson negative log-likelihood (up to constants) of `count` events over `exposure` at the
/// maximum-likelihood rate.
fn poisson_cost(count: f64, exposure: f64) -> f64 {
    if count <= 0.0 || exposure <= 0.0 {
        return 0.0;
    }
    -(count * (count / exposure).ln() - count)
}

/// Changepoints by binary segmentation with a Poisson cost: `counts[i]` events over
/// `exposure[i]`; a split is kept when it lowers twice the negative log-likelihood by more than
/// `penalty` and leaves at least `min_len` points on each side. Returns sorted split indices
/// (the first index of each new segment).
pub fn poisson_binseg(
    counts: &[f64],
    exposure: &[f64],
    penalty: f64,
    min_len: usize,
) -> Vec<usize> {
    let n = counts.len();
    let mut cc = vec![0.0; n + 1];
    let mut ce = vec![0.0; n + 1];
    for i in 0..n {
        cc[i + 1] = cc[i] + counts[i];
        ce[i + 1] = ce[i] + exposure[i];
    }
    let cost = |a: usize, b: usize| poisson_cost(cc[b] - cc[a], ce[b] - ce[a]);
    let mut splits = Vec::new();
    let mut stack = vec![(0usize, n)];
    while let Some((a, b)) = stack.pop() {
        if b - a < 2 * min_len.max(1) {
            continue;
        }
        let whole = cost(a, b);
        let mut best = (0.0, 0usize);
        for k in a + min_len.max(1)..=b - min_len.max(1) {
            let gain = 2.0 * (whole - cost(a, k) - cost(k, b));
            if gain > best.0 {
                best = (gain, k);
            }
        }
        if best.0 > penalty && best.1 > a {
            splits.push(best.1);
            stack.push((a, best.1));
            stack.push((best.1, b));
        }
    }
    splits.sort_unstable();
    splits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_match_known_values() {
        // P(X <= 2 | 5) = e^-5 (1 + 5 + 12.5) = 0.124652
        assert!((poisson_cdf(2, 5.0) - 0.124_652).abs() < 1e-5);
        assert!((poisson_sf(3, 5.0) - (1.0 - 0.124_652)).abs() < 1e-5);
        // Binomial(10, 0.5): P(X >= 8) = 56/1024
        assert!((binomial_sf(8, 10, 0.5) - 56.0 / 1024.0).abs() < 1e-9);
        assert!((normal_sf(1.959_964) - 0.025).abs() < 1e-6);
    }

    #[test]
    fn rate_ratio_detects_doubling_only_when_real() {
        let (r, p) = rate_ratio_test(200, 10.0, 100, 10.0);
        assert!((r - 2.0).abs() < 1e-9 && p < 1e-6);
        let (_, p) = rate_ratio_test(105, 10.0, 100, 10.0);
        assert!(p > 0.5);
    }

    #[test]
    fn mann_kendall_and_sen() {
        let up: Vec<f64> = (0..30)
            .map(|i| i as f64 * 0.5 + if i % 2 == 0 { 1.0 } else { 0.0 })
            .collect();
        let mk = mann_kendall(&up);
        assert!(mk.p_value < 1e-6 && mk.z > 0.0);
        assert!((mk.sen_slope - 0.5).abs() < 0.05, "{mk:?}");
        let flat: Vec<f64> = (0..30).map(|i| [3.0, 5.0, 4.0][i % 3]).collect();
        assert!(mann_kendall(&flat).p_value > 0.3);
    }

    #[test]
    fn binseg_finds_a_level_shift() {
        let counts: Vec<f64> = (0..60).map(|i| if i < 35 { 30.0 } else { 8.0 }).collect();
        let exposure = vec![5.0; 60];
        assert_eq!(poisson_binseg(&counts, &exposure, 20.0, 4), vec![35]);
        let flat = vec![20.0; 60];
        assert!(poisson_binseg(&flat, &exposure, 20.0, 4).is_empty());
    }
}
