// kdprune score --checkpoint with a PyTorch state_dict that names no architecture (as
// torch.save(model.state_dict()) writes it, here with DataParallel's "module." prefix): the
// architecture is inferred from its shapes, and the scores equal those of the same weights in a
// kdprune model.pt. The scoring run's own model files are in tests/cli/test_score_checkpoint.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/run_cli.h"
#include "kdprune/models/model.h"
#include "kdprune/train/model_file.h"
#include "kdprune/train/torch_save.h"
#include "test_files.h"

using namespace kdprune;
using kdprune::test::read_bytes;
using kdprune::test::TempDir;

TEST(ScoreCheckpoint, BareStateDictScoresAsItsModelFile) {
  TempDir d;
  const models::ModelSpec spec{1, 4, 8};
  torch::manual_seed(3);
  auto model = models::create_model("resnet14", spec);
  {  // BatchNorm statistics away from their initial values, so that eval mode matters
    torch::NoGradGuard ng;
    for (auto& b : model->named_buffers())
      if (b.key().ends_with("running_mean")) b.value().uniform_(-0.5, 0.5);
      else if (b.key().ends_with("running_var")) b.value().uniform_(0.5, 2.0);
  }
  const train::ModelMeta meta{"resnet14", spec, "synthetic", {0.5f}, {0.25f}};
  train::save_model(d.file("model.pt"), model, meta);
  train::export_pytorch(d.file("export.pth"), model, meta);
  auto sd = train::read_torch_save_state_dict(d.file("export.pth"), "export");
  train::NamedTensors prefixed;
  for (const auto& [name, t] : sd.tensors) prefixed.emplace_back("module." + name, t);
  train::write_torch_save(d.file("bare.pth"), prefixed, nlohmann::json::object());

  const std::string data = " data.name=synthetic data.synthetic.train_size=96 data.synthetic.test_size=32"
                           " data.synthetic.channels=1 data.synthetic.height=8 data.synthetic.width=8"
                           " data.synthetic.classes=4 run.threads=1 run.device=cpu score.method=el2n run.root=" + d.path();
  std::string out;
  for (const char* file : {"model.pt", "bare.pth"}) {
    const auto r = test::run("score --checkpoint " + d.file(file) + data + " run.name=of-" + file);
    ASSERT_EQ(r.code, 0) << file << ": " << r.out;
    out = r.out;
  }
  EXPECT_NE(out.find("with prefix 'module.' read as resnet14 (architecture inferred from the shapes"), std::string::npos) << out;
  EXPECT_EQ(read_bytes(d.file("of-bare.pth/scores.npy")), read_bytes(d.file("of-model.pt/scores.npy")));
  EXPECT_EQ(nlohmann::json::parse(read_bytes(d.file("of-bare.pth/scores.json")))["model"], "resnet14");
}
