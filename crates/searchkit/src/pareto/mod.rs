//! Pareto tools (maximisation convention): dominance, non-dominated sorting,
//! exact hypervolume, log hypervolume difference.
