#pragma once
/// Superposition measures beyond the paper: effective dimensionality of the embeddings (the
/// participation ratio of the covariance spectrum), neural-collapse NC1 (Papyan, Han & Donoho
/// 2020), per-unit class selectivity (Morcos et al. 2018) and the number of classes each unit
/// responds to (polysemanticity), and the feature dimensionality of the final layer's class vectors
/// ("Toy Models of Superposition", Elhage et al. 2022). Every formula, range and degenerate case is
/// written out in results-schema/measures.md; the field names below are the HDF5 names.
///
///     sp::Superposition s = sp::superposition_measures(x.data(), n, d, labels.data(), classes);
///     sp::FeatureDimensionality f = sp::feature_dimensionality(fc_weight.data(), classes, 512);
///
/// Everything is computed in double from the float32 inputs. Results are deterministic: they are
/// bit-identical for every `threads` setting (each sum runs in a fixed order, and BLAS/LAPACK
/// calls run single-threaded on fixed shapes, parallel only across independent blocks).
/// A NaN in a result means "undefined for this input" and appears only where measures.md says so.

#include <cstdint>
#include <vector>

namespace sp {

struct SuperpositionOptions {
    /// A live unit responds to class c when its class-mean activation is >= this fraction of its
    /// largest class mean and > 0. In [0, 1]; otherwise ConfigError.
    double responsive_fraction = 0.5;
    /// Intra-op threads; 0 keeps LibTorch's current setting. Results do not depend on it.
    int threads = 0;
};

/// Measures of one set of labelled embeddings. d = embedding width, K = classes_present.
/// Units: x's activation unit "a" (spectrum in a^2); everything else is dimensionless.
struct Superposition {
    /// Effective dimensionality: tr(C)^2 / ||C||_F^2 = (sum lambda)^2 / sum lambda^2, where C is
    /// the population covariance (divisor n) of the embeddings. In [1, d]; 0 when C = 0 (n = 1 or
    /// all rows identical).
    double participation_ratio = 0.0;
    /// The d eigenvalues of C, descending, in a^2; rounding negatives are clipped to 0.
    std::vector<double> covariance_spectrum;
    /// NC1 = tr(Sigma_W Sigma_B^+) / K (Papyan et al. 2020), Sigma_W the within-class covariance
    /// (average over all n rows), Sigma_B the unweighted average over the K present classes of
    /// (mu_c - mu_G)(mu_c - mu_G)^T, mu_G the mean of all rows. The pseudo-inverse keeps the top
    /// min(K - 1, d) eigenpairs of Sigma_B with eigenvalue > 1e-12 x the largest. >= 0; NaN
    /// (undefined) when K < 2 or Sigma_B = 0.
    double nc1 = 0.0;
    /// tr(Sigma_W) / tr(Sigma_B). >= 0; NaN (undefined) when K < 2 or Sigma_B = 0.
    double within_between_ratio = 0.0;
    /// d values: Morcos et al. class selectivity (mu_max - mu_rest) / (|mu_max| + |mu_rest|) over
    /// the present classes' mean activations of the unit, mu_rest the mean of the other K - 1
    /// class means (the first maximal class is the one left out). In [0, 1] (the plain Morcos
    /// formula for non-negative activations). NaN (undefined) for dead units and when K < 2.
    std::vector<double> unit_selectivity;
    /// d values: number of present classes whose class mean is > 0 and >= responsive_fraction x
    /// mu_max. 0 for dead units, in [1, K] for live ones.
    std::vector<std::int64_t> unit_classes;
    /// Mean of unit_selectivity over live units. NaN (undefined) when no unit is live or K < 2.
    double selectivity_mean = 0.0;
    /// Mean of unit_classes over live units. NaN (undefined) when no unit is live.
    double classes_per_unit_mean = 0.0;
    /// Units whose largest class mean is <= 0 (for ReLU features: zero on every row).
    std::int64_t dead_units = 0;
    /// K: classes with at least one row. Classes with no rows are left out of every measure.
    std::int64_t classes_present = 0;
};

/// Superposition measures of `x`, n x d float32 row-major, with `labels` (n entries in
/// [0, classes)). Needs n >= 1, d >= 1, classes >= 1 and finite values.
/// Throws DataError on bad shapes, labels or non-finite values, ConfigError on bad options.
Superposition superposition_measures(const float* x, std::int64_t n, std::int64_t d,
                                     const std::int64_t* labels, std::int64_t classes,
                                     const SuperpositionOptions& opt = {});

/// Feature dimensionality of a final layer's class vectors (Elhage et al. 2022, "Toy Models of
/// Superposition", section "Feature dimensionality"), with feature i's embedding W_i = row i of
/// the features x d weight (PyTorch's Linear(d, features).weight) and m = d hidden dimensions.
struct FeatureDimensionality {
    /// D_i = ||W_i||^2 / sum_j (W_i_hat . W_j)^2 (j over all features, i included), one per
    /// feature. In [0, 1]; 0 for a zero vector W_i (a feature the layer does not represent).
    std::vector<double> per_feature;
    /// sum_i D_i, in [0, features].
    double total = 0.0;
    /// D* = d / ||W||_F^2, in units of dimensions per feature (needs unit-norm-ish rows to read as
    /// in the paper). NaN (undefined) when W = 0.
    double dimensions_per_feature = 0.0;
};

/// `w` is features x d float32 row-major (features >= 1, d >= 1, finite values).
/// Throws DataError on bad shapes or non-finite values.
FeatureDimensionality feature_dimensionality(const float* w, std::int64_t features, std::int64_t d);

} // namespace sp
