#pragma once
// The smallest training run the CLI tests start: synthetic 1×8×8 images of 4 classes, ResNet-8,
// one epoch, one thread, as `key=value` overrides for run `name` under `d`.
#include <string>

#include "test_files.h"

namespace kdprune::test {

inline std::string tiny_run(const TempDir& d, const std::string& name) {
  return "run.root=" + d.path() + " run.name=" + name +
         " data.name=synthetic data.synthetic.train_size=64 data.synthetic.test_size=32"
         " data.synthetic.channels=1 data.synthetic.height=8 data.synthetic.width=8 data.synthetic.classes=4"
         " model.arch=resnet8 train.epochs=1 train.batch_size=16 train.schedule=constant run.threads=1";
}

}  // namespace kdprune::test
