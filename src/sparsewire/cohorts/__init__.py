"""Cohorts: many differently-wired sparse networks trained as one computation.

A structure study trains hundreds of small networks; alone, each is all per-call overhead. A cohort packs
N members into one module (:class:`Cohort`), trains them with per-member optimizer state, schedules,
clipping, early stopping and divergence checks (:func:`train_cohort`), and writes the weights back into
the members, so results stay one row per network. All members see the same batches in the same order.

- :class:`RecurrentCohort`: graph-built recurrent classifiers (RNN-tanh, RNN-ReLU, GRU, LSTM), run as one
  wavefront over all levels of all members (:mod:`sparsewire.cohorts.wavefront`).
- :class:`FeedForwardCohort`: graph-built MLPs (:class:`~sparsewire.graphs.feedforward.GraphNetwork`) level
  by level over the present edges of all members (:class:`DenseFeedForwardCohort`: dense edge blocks, so
  masked weights get gradients as alone, for gradient clipping), and same-architecture masked models
  stacked with ``torch.func`` (:class:`StackedCohort`).
"""

from sparsewire.cohorts.base import Cohort, member_losses
from sparsewire.cohorts.feedforward import DenseFeedForwardCohort, FeedForwardCohort, StackedCohort
from sparsewire.cohorts.optim import CohortOptimizer, clip_member_grads
from sparsewire.cohorts.recurrent import RecurrentCohort
from sparsewire.cohorts.train import MemberResult, evaluate_cohort, iter_train_cohort, train_cohort

__all__ = ["Cohort", "CohortOptimizer", "DenseFeedForwardCohort", "FeedForwardCohort", "MemberResult", "RecurrentCohort", "StackedCohort", "clip_member_grads", "evaluate_cohort", "iter_train_cohort",
           "member_losses", "train_cohort"]
