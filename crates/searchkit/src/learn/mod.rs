//! Small learners the partition methods share: k-means, support vector
//! classifiers, Gaussian processes.
