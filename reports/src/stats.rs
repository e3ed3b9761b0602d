//! Statistics across replications: means and Student-t confidence intervals.

/// Two-sided 97.5% quantiles of Student's t for 1..=30 degrees of freedom.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
    2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/// The 0.975 quantile of Student's t with `df` degrees of freedom (for a 95% two-sided interval).
/// Exact to the three decimals of standard tables up to 30; beyond, the Cornish-Fisher expansion
/// around the normal quantile, which is within 1e-4 of the true value there.
pub fn t975(df: u32) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T975[df as usize - 1],
        _ => {
            let z = 1.959_963_984_540_054_f64;
            let n = f64::from(df);
            let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
            z + (z3 + z) / (4.0 * n)
                + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * n * n)
                + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * n * n * n)
        }
    }
}

/// Mean and 95% confidence interval of independent replications. The interval is `None` with
/// fewer than two values.
pub fn mean_ci95(values: &[f64]) -> (f64, Option<(f64, f64)>) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, None);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, None);
    }
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
    let half = t975(n as u32 - 1) * (var / n as f64).sqrt();
    (mean, Some((mean - half, mean + half)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        assert_eq!(t975(1), 12.706);
        assert_eq!(t975(4), 2.776);
        // Tables: df 40 → 2.021, 60 → 2.000, 120 → 1.980.
        assert!((t975(40) - 2.021).abs() < 1e-3, "{}", t975(40));
        assert!((t975(60) - 2.000).abs() < 1e-3, "{}", t975(60));
        assert!((t975(120) - 1.980).abs() < 1e-3, "{}", t975(120));
        assert!((t975(31) - 2.040).abs() < 1e-3, "{}", t975(31));
    }

    #[test]
    fn interval_of_known_values() {
        let (m, ci) = mean_ci95(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(m, 3.0);
        // s = sqrt(2.5), half = 2.776 * sqrt(2.5 / 5)
        let half = 2.776 * 0.5f64.sqrt();
        let (lo, hi) = ci.unwrap();
        assert!((lo - (3.0 - half)).abs() < 1e-12 && (hi - (3.0 + half)).abs() < 1e-12);
        assert_eq!(mean_ci95(&[7.0]), (7.0, None));
    }
}
