// The formulas behind the loss terms, as plain functions of tensors (tested on hand-computable inputs).
#pragma once

#include <torch/types.h>

#include <functional>

namespace r2q::losses {

// Hinton et al. 2015: T^2 * KL(softmax(teacher / T) || softmax(student / T)), averaged over the batch.
torch::Tensor kd_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                      double temperature);

// Park et al. 2019, RKD-D: the batch's pairwise Euclidean distances, each divided by the mean distance, of
// student and teacher embeddings (batch x features), compared with the Huber loss (smooth L1, beta 1).
torch::Tensor rkd_distance(const torch::Tensor& student, const torch::Tensor& teacher);
// RKD-A: cosines of the angles e_i - e_j, e_k - e_j over all triplets, compared with the Huber loss.
torch::Tensor rkd_angle(const torch::Tensor& student, const torch::Tensor& teacher);

// Largest singular value of `w` (rows x cols) by power iteration from the persistent unit vector `u` (rows),
// which is advanced `iterations` steps in place. Differentiable in `w` with u and v held constant (Miyato et
// al. 2018): sigma = u^T w v.
torch::Tensor spectral_norm(const torch::Tensor& w, torch::Tensor& u, int iterations);

// WGAN-GP (Gulrajani et al. 2017): E[(||grad_x D(x_hat)||_2 - 1)^2] at x_hat = a * real + (1 - a) * fake,
// a ~ U(0, 1) per sample. Differentiable in D's parameters.
torch::Tensor gradient_penalty(const std::function<torch::Tensor(const torch::Tensor&)>& critic,
                               const torch::Tensor& real, const torch::Tensor& fake);

// E ||perturbed - clean||^2 over the batch (squared L2 over the logits of each sample).
torch::Tensor logit_stability(const torch::Tensor& perturbed_logits, const torch::Tensor& clean_logits);

}  // namespace r2q::losses
