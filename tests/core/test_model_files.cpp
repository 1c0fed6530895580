// model.pt and checkpoint.pt written wrong on purpose: every defect is one kdprune::Error naming
// the file and the entry, never a LibTorch assertion.
#include <gtest/gtest.h>

#include <filesystem>

#include "kdprune/models/model.h"
#include "kdprune/train/archive.h"
#include "kdprune/train/checkpoint.h"
#include "kdprune/train/model_file.h"
#include "kdprune/train/torch_save.h"
#include "kdprune/util/error.h"
#include "test_files.h"

using namespace kdprune;
using kdprune::test::TempDir;

namespace {
using kdprune::test::error_of;

// A resnet8 (1 channel, 4 classes) model file as save_model writes it, with these metadata entries.
void write_model(const std::string& path, const std::vector<std::pair<std::string, c10::IValue>>& meta) {
  const models::Model m = models::create_model("resnet8", {1, 4, 8});
  torch::serialize::OutputArchive a;
  for (const auto& [key, value] : meta) a.write(key, value);
  m->save(a);
  train::write_archive(a, path);
}
std::vector<std::pair<std::string, c10::IValue>> meta_with(const std::string& key, c10::IValue value,
                                                           const std::string& rename = "") {
  std::vector<std::pair<std::string, c10::IValue>> meta = {
      {"kdprune_arch", c10::IValue(std::string("resnet8"))}, {"kdprune_in_channels", c10::IValue(int64_t{1})},
      {"kdprune_classes", c10::IValue(int64_t{4})},          {"kdprune_image_size", c10::IValue(int64_t{8})},
      {"kdprune_dataset", c10::IValue(std::string("synthetic"))}};
  for (auto& [k, v] : meta)
    if (k == key) {
      v = std::move(value);
      if (!rename.empty()) k = rename;
    }
  return meta;
}
}  // namespace

TEST(ModelFiles, MetadataOfTheWrongTypeOrNameIsNamed) {
  TempDir d;
  const torch::Device cpu(torch::kCPU);
  write_model(d.file("ok.pt"), meta_with("kdprune_classes", c10::IValue(int64_t{4})));
  EXPECT_EQ(train::load_model(d.file("ok.pt"), cpu).meta.spec.classes, 4);

  write_model(d.file("type.pt"), meta_with("kdprune_classes", c10::IValue(std::string("four"))));
  EXPECT_EQ(error_of([&] { train::load_model(d.file("type.pt"), cpu); }),
            "model file '" + d.file("type.pt") + "': entry 'kdprune_classes' is a String, expected an integer");

  write_model(d.file("renamed.pt"), meta_with("kdprune_classes", c10::IValue(int64_t{4}), "kdprune_n_classes"));
  EXPECT_EQ(error_of([&] { train::load_model(d.file("renamed.pt"), cpu); }),
            "model file '" + d.file("renamed.pt") + "': no 'kdprune_classes' entry");

  write_model(d.file("arch.pt"), meta_with("kdprune_arch", c10::IValue(std::string("resnet9000"))));
  EXPECT_NE(error_of([&] { train::load_model(d.file("arch.pt"), cpu); }).find("unknown architecture 'resnet9000'"), std::string::npos);

  // Metadata that says 10 classes over weights of 4: the first mis-shaped weight, both shapes.
  write_model(d.file("shape.pt"), meta_with("kdprune_classes", c10::IValue(int64_t{10})));
  EXPECT_EQ(error_of([&] { train::load_model(d.file("shape.pt"), cpu); }),
            "model file '" + d.file("shape.pt") + "': 'fc.weight' has shape [4, 64] in the file, but resnet8 (10 classes, 1 "
            "input channels) needs [10, 64]");
}

TEST(ModelFiles, CheckpointOfAnotherModelIsRefusedBeforeAnyWeightChanges) {
  TempDir d;
  models::Model four = models::create_model("resnet8", {1, 4, 8});
  torch::optim::SGD opt4(four->parameters(), torch::optim::SGDOptions(0.1));
  train::save_checkpoint(d.file("c.pt"), *four, opt4, {.epochs_done = 3});
  EXPECT_EQ(train::checkpoint_epochs_done(d.file("c.pt")), 3);

  models::Model ten = models::create_model("resnet8", {1, 10, 8});
  torch::optim::SGD opt10(ten->parameters(), torch::optim::SGDOptions(0.1));
  const torch::Tensor before = ten->parameters()[0].clone();
  EXPECT_EQ(error_of([&] { train::load_checkpoint(d.file("c.pt"), *ten, opt10); }),
            "checkpoint '" + d.file("c.pt") + "': 'fc.weight' has shape [4, 64] in the file, but this run's model needs [10, 64]");
  EXPECT_TRUE(torch::equal(before, ten->parameters()[0])) << "nothing is loaded from a checkpoint that does not fit";

  models::Model three = models::create_model("resnet8", {3, 4, 8});
  torch::optim::SGD opt3(three->parameters(), torch::optim::SGDOptions(0.1));
  EXPECT_NE(error_of([&] { train::load_checkpoint(d.file("c.pt"), *three, opt3); }).find("has shape [16, 1, 3, 3] in the file"),
            std::string::npos);
}

// Every input the fuzzers once broke the loaders with (fuzz/regressions/): now one kdprune::Error.
TEST(ModelFiles, FuzzRegressionsAreOneLineErrors) {
  namespace fs = std::filesystem;
  const torch::Device cpu(torch::kCPU);
  int replayed = 0;
  for (const char* harness : {"model_file", "checkpoint", "torch_save"}) {
    const fs::path dir = fs::path(KDPRUNE_SOURCE_DIR) / "fuzz" / "regressions" / harness;
    if (!fs::exists(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string path = e.path().string();
      std::string got = "accepted";
      try {
        if (std::string(harness) == "model_file") {
          train::load_model(path, cpu);
        } else if (std::string(harness) == "torch_save") {
          train::read_torch_save_state_dict(path, "PyTorch file '" + path + "'");
        } else {
          models::Model m = models::create_model("resnet8", {1, 4, 8});
          torch::optim::SGD opt(m->parameters(), torch::optim::SGDOptions(0.1));
          train::checkpoint_epochs_done(path);
          train::load_checkpoint(path, *m, opt);
        }
      } catch (const Error& err) {
        got = err.what();
      } catch (const std::exception& err) {
        ADD_FAILURE() << path << ": escaped as a non-kdprune exception: " << err.what();
      }
      EXPECT_NE(got.find(path), std::string::npos) << path << ": " << got;
      EXPECT_EQ(got.find('\n'), std::string::npos) << got;
      ++replayed;
    }
  }
  EXPECT_GT(replayed, 0);
}
