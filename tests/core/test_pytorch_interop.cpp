// PyTorch files in and out, against PyTorch itself: the project virtualenv's Python writes
// state_dicts as RepDistiller, DataParallel, torchvision and old torch versions save them
// (tests/python/make_pytorch_files.py) with the logits its own models give on fixed inputs;
// kdprune must load each and give the same logits. The other way, Python reads kdprune's
// model.pth with torch.load(weights_only=True) into RepDistiller's layout and must agree.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "cli/run_cli.h"
#include "kdprune/models/model.h"
#include "kdprune/train/model_file.h"
#include "kdprune/train/torch_save.h"
#include "kdprune/util/error.h"
#include "test_files.h"

using namespace kdprune;
using kdprune::test::TempDir;

namespace {

const std::string kPython = KDPRUNE_PYTHON;
const std::string kScripts = std::string(KDPRUNE_SOURCE_DIR) + "/tests/python";

using kdprune::test::error_of;

torch::Tensor tensor_named(const train::PyTorchStateDict& sd, const std::string& name) {
  for (const auto& [k, t] : sd.tensors)
    if (k == name) return t;
  ADD_FAILURE() << "no tensor " << name;
  return {};
}

class PyTorchFiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ASSERT_TRUE(std::filesystem::exists(kPython)) << "the project virtualenv's python is missing: " << kPython
                                                  << " (scripts/setup.sh installs it)";
    const std::string cmd = kPython + " " + kScripts + "/make_pytorch_files.py " + dir_->path();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    outputs_ = new train::PyTorchStateDict(train::read_torch_save_state_dict(file("outputs.pth"), "outputs"));
  }
  static void TearDownTestSuite() {
    delete outputs_;
    delete dir_;
  }
  static std::string file(const std::string& name) { return dir_->file(name); }
  static torch::Tensor expected(const std::string& name) { return tensor_named(*outputs_, name); }
  static torch::Tensor logits(const train::LoadedModel& m, const torch::Tensor& x) {
    m.model->eval();
    torch::NoGradGuard ng;
    return m.model->forward(x);
  }
  static train::LoadedModel load(const std::string& name, const models::ModelSpec& spec, const std::string& arch = "") {
    const train::ModelExpectation e{arch, "kd.teacher_arch", spec, "cifar10"};
    return train::load_model(file(name), torch::Device(torch::kCPU), &e);
  }
  static inline TempDir* dir_ = nullptr;
  static inline train::PyTorchStateDict* outputs_ = nullptr;
};

const models::ModelSpec kCifar10{3, 10, 32};

}  // namespace

TEST_F(PyTorchFiles, RepDistillerStateDictGivesPyTorchsLogits) {
  const auto m = load("resnet8_state_dict.pth", kCifar10);
  EXPECT_EQ(m.meta.arch, "resnet8");  // inferred from the shapes
  EXPECT_TRUE(torch::allclose(logits(m, expected("x32")), expected("resnet8"), 1e-4, 1e-5));
}

TEST_F(PyTorchFiles, RepDistillerCheckpointWithNumpyScalarAndNamespace) {
  const auto sd = train::read_torch_save_state_dict(file("resnet8_repdistiller.pth"), "f");
  EXPECT_EQ(sd.found_under, "model");
  EXPECT_EQ(sd.meta.at("epoch"), 240);
  EXPECT_DOUBLE_EQ(sd.meta.at("best_acc").get<double>(), 71.25);  // numpy 2's float64 scalar
  const auto m = load("resnet8_repdistiller.pth", kCifar10);
  EXPECT_TRUE(torch::allclose(logits(m, expected("x32")), expected("resnet8"), 1e-4, 1e-5));
}

TEST_F(PyTorchFiles, LegacyFormatAndDataParallelPrefix) {
  for (const char* name : {"resnet8_legacy.pth", "resnet8_dataparallel.pth"}) {
    SCOPED_TRACE(name);
    const auto m = load(name, kCifar10);
    EXPECT_EQ(m.meta.arch, "resnet8");
    EXPECT_TRUE(torch::allclose(logits(m, expected("x32")), expected("resnet8"), 1e-4, 1e-5));
  }
}

TEST_F(PyTorchFiles, TorchvisionResNet18) {
  const auto m = load("resnet18_torchvision.pth", {3, 10, 224});
  EXPECT_EQ(m.meta.arch, "resnet18");
  EXPECT_TRUE(torch::allclose(logits(m, expected("x64")), expected("resnet18"), 1e-4, 1e-4));
  // At 32 px kdprune's resnet18 has the CIFAR stem (3x3): the 7x7 weights are named as not fitting.
  EXPECT_NE(error_of([&] { load("resnet18_torchvision.pth", kCifar10, "resnet18"); })
                .find("'conv1.weight' has shape [64, 3, 7, 7] in the file, but resnet18 (10 classes, 3 input channels) "
                      "needs [64, 3, 3, 3]"),
            std::string::npos);
}

TEST_F(PyTorchFiles, MismatchesAreOneLineNamingTheKeyAndBothShapes) {
  const std::string classes = error_of([&] { load("resnet8_100classes.pth", kCifar10); });
  EXPECT_NE(classes.find("the closest: 'fc.weight' has shape [100, 64] in the file, but resnet8 (10 classes, 3 input "
                         "channels) needs [10, 64]"),
            std::string::npos)
      << classes;
  const std::string named = error_of([&] { load("resnet8_state_dict.pth", kCifar10, "resnet20"); });
  EXPECT_NE(named.find("no entry 'layer1.1.conv1.weight' (resnet20 (10 classes, 3 input channels) needs [16, 16, 3, 3])"),
            std::string::npos)
      << named;
  const std::string channels = error_of([&] { load("resnet8_state_dict.pth", {1, 10, 32}); });
  EXPECT_NE(channels.find("'conv1.weight' has shape [16, 3, 3, 3] in the file, but resnet8 (10 classes, 1 input channels) "
                          "needs [16, 1, 3, 3]"),
            std::string::npos)
      << channels;
  const std::string none = error_of([&] { load("no_state_dict.pth", kCifar10); });
  EXPECT_NE(none.find("no state_dict in this torch.save file"), std::string::npos) << none;
  EXPECT_NE(none.find("top-level keys: epoch, note"), std::string::npos) << none;
  for (const std::string& e : {classes, named, channels, none}) EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  // Without an expectation (an input that needs kdprune's model.pt), a PyTorch file is named as such.
  EXPECT_NE(error_of([&] { train::load_model(file("resnet8_state_dict.pth"), torch::Device(torch::kCPU)); })
                .find("a PyTorch torch.save file"),
            std::string::npos);
}

TEST_F(PyTorchFiles, ExportedModelReadByPythonWithWeightsOnly) {
  TempDir d;
  torch::manual_seed(3);
  const models::Model m = models::create_model("resnet8", kCifar10);
  m->eval();
  const train::ModelMeta meta{"resnet8", kCifar10, "cifar10", {0.49f, 0.48f, 0.45f}, {0.25f, 0.24f, 0.26f}};
  train::export_pytorch(d.file("model.pth"), m, meta);
  const torch::Tensor x = expected("x32");
  train::write_torch_save(d.file("x.pth"), {{"x", x}}, nlohmann::json::object());
  const std::string cmd = kPython + " " + kScripts + "/read_exported.py " + d.file("model.pth") + " " + d.file("x.pth") +
                          " " + d.file("logits.pth");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  torch::Tensor ours;
  {
    torch::NoGradGuard ng;
    ours = m->forward(x);
  }
  const auto theirs = tensor_named(train::read_torch_save_state_dict(d.file("logits.pth"), "logits"), "logits");
  EXPECT_TRUE(torch::allclose(ours, theirs, 1e-4, 1e-5));
  // And back: the exported file names its architecture, so nothing is inferred.
  const auto back = train::load_model(d.file("model.pth"), torch::Device(torch::kCPU),
                                      std::make_unique<train::ModelExpectation>(train::ModelExpectation{"", "", kCifar10, ""}).get());
  EXPECT_EQ(back.meta.dataset, "cifar10");
  EXPECT_TRUE(torch::allclose(logits(back, x), ours, 1e-6, 1e-6));
}

TEST_F(PyTorchFiles, CliTeacherInitAndEvalFromPyTorchFiles) {
  TempDir d;
  const std::string data =
      " data.name=synthetic data.synthetic.train_size=64 data.synthetic.test_size=32 data.synthetic.channels=1"
      " data.synthetic.height=8 data.synthetic.width=8 data.synthetic.classes=4 run.threads=1 run.root=" + d.path() +
      " train.batch_size=32 train.eval_every=100 ";
  const auto ev = test::run("eval --checkpoint " + file("tiny_teacher.pth") + data + " --out " + d.file("t.json"));
  ASSERT_EQ(ev.code, 0) << ev.out;
  EXPECT_NE(ev.out.find("read as resnet8 (architecture inferred from the shapes"), std::string::npos) << ev.out;

  // model.init: zero epochs keep the PyTorch weights, so eval gives the teacher's accuracy.
  const auto init = test::run("train-teacher" + data + "run.name=init train.epochs=0 model.init=" + file("tiny_teacher.pth"));
  ASSERT_EQ(init.code, 0) << init.out;
  const auto ev2 = test::run("eval --checkpoint " + d.file("init/model.pt") + data + " --out " + d.file("i.json"));
  ASSERT_EQ(ev2.code, 0) << ev2.out;
  const auto top1 = [&](const std::string& f) { return nlohmann::json::parse(std::ifstream(f)).at("top1").get<double>(); };
  EXPECT_DOUBLE_EQ(top1(d.file("i.json")), top1(d.file("t.json")));
  EXPECT_TRUE(std::filesystem::exists(d.file("init/model.pth")));
  // kdprune export: the same PyTorch file from a model.pt, with the run's normalisation.
  const auto ex = test::run("export --checkpoint " + d.file("init/model.pt") + " --out " + d.file("init.pth"));
  ASSERT_EQ(ex.code, 0) << ex.out;
  const auto exported = train::read_torch_save_state_dict(d.file("init.pth"), "export");
  EXPECT_EQ(exported.meta.at("arch"), "resnet8");
  EXPECT_EQ(exported.meta.at("mean"), nlohmann::json::array({0.5}));  // the synthetic dataset's
  EXPECT_EQ(exported.meta.at("classes"), 4);
  EXPECT_EQ(exported.tensors.size(), train::read_torch_save_state_dict(d.file("init/model.pth"), "run").tensors.size());

  const auto kd = test::run("distill" + data + "run.name=kd train.epochs=1 kd.alpha=0.5 kd.teacher=" + file("tiny_teacher.pth"));
  ASSERT_EQ(kd.code, 0) << kd.out;
  EXPECT_NE(kd.out.find("teacher resnet8"), std::string::npos) << kd.out;
  // A teacher whose class count is not the dataset's is refused before any run directory exists.
  const auto bad = test::run("distill" + data + "run.name=bad train.epochs=1 kd.alpha=0.5 kd.teacher=" + file("resnet8_state_dict.pth"));
  EXPECT_EQ(bad.code, 1) << bad.out;
  EXPECT_NE(bad.out.find("'conv1.weight' has shape [16, 3, 3, 3] in the file"), std::string::npos) << bad.out;
  EXPECT_FALSE(std::filesystem::exists(d.file("bad")));
}
