#pragma once
// `kdprune run --worker i/n`: n processes (one per GPU, Slurm task, ...) share one experiment's
// plan. Each plans the whole experiment, and the students are dealt to the workers in units that
// train together best (the students that share batches and a teacher: one α list of a view) by
// their estimated cost, so the workers finish close together. Everything here is a pure function
// of the plan: every worker computes the same dealing.
#include <cstdint>
#include <string>
#include <vector>

namespace kdprune::pipeline {

struct WorkerSpec {
  int64_t index = 0, count = 1;  // worker `index` of `count`
  bool active() const { return count > 1 || index > 0; }
};
// "i/n" with 0 <= i < n; kdprune::Error naming --worker otherwise.
WorkerSpec parse_worker(const std::string& text);

// The relative cost of one training image for one epoch on `arch`: forward + backward (about three
// forward passes) of the student, from a table of forward MACs at CIFAR resolution (the
// registered architectures; an unknown one counts as resnet20). Ratios only matter: every student
// of an experiment sees the same image size.
double forward_cost(const std::string& arch);

// One unit of students dealt as a whole, and its estimated cost.
struct WorkUnit {
  std::vector<size_t> stages;  // student stages, plan order
  double cost = 0;
};
// cost of a student: kept fraction × epochs × (3 · student forward + teacher forward, if any).
double student_cost(double kept_fraction, int64_t epochs, const std::string& arch, const std::string& teacher_arch);

// Worker of each unit: largest cost first, each to the worker with the least so far (ties: the
// lower index, then plan order), so the shares differ by at most one unit's cost.
std::vector<int64_t> deal_units(const std::vector<WorkUnit>& units, int64_t workers);

// Each worker's summed cost.
std::vector<double> worker_shares(const std::vector<WorkUnit>& units, const std::vector<int64_t>& dealt, int64_t workers);

}  // namespace kdprune::pipeline
