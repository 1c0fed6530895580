// The feature-based KD terms against an independent Python version of RepDistiller's formulas
// (tests/python/feature_losses.py, run with the project virtualenv's torch): on fixed student and
// teacher features (stages of different widths, and one stage of a different spatial size so the
// pooling rule is exercised), kdprune's loss value, its gradients with respect to the student's
// features and embedding, and those of the term's trainable modules must equal PyTorch's.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "cli/run_cli.h"
#include "kdprune/losses/kd_loss.h"
#include "kdprune/train/torch_save.h"
#include "kdprune/util/error.h"
#include "losses/feature/feature_common.h"
#include "test_files.h"

using namespace kdprune;

namespace {

struct Pair {
  models::ModelOutput s, t;
};

// Student: stem 16×8×8, stages 16×8×8, 32×8×8, 64×2×2, embedding 64; teacher twice as wide, its
// second stage 4×4 (pooling and FitNets' stride-2 regressor), embedding 128. Batch 6.
Pair fixed_outputs() {
  torch::manual_seed(11);
  Pair p;
  const std::vector<std::vector<int64_t>> s = {{6, 16, 8, 8}, {6, 16, 8, 8}, {6, 32, 8, 8}, {6, 64, 2, 2}};
  const std::vector<std::vector<int64_t>> t = {{6, 32, 8, 8}, {6, 32, 8, 8}, {6, 64, 4, 4}, {6, 128, 2, 2}};
  for (const auto& shape : s) p.s.features.push_back(torch::relu(torch::randn(shape)).requires_grad_());
  for (const auto& shape : t) p.t.features.push_back(torch::relu(torch::randn(shape)));
  p.s.embedding = torch::randn({6, 64}).requires_grad_();
  p.t.embedding = torch::randn({6, 128});
  return p;
}

// CLI overrides for 64 synthetic 1×8×8 training images of 4 classes, runs under `d`.
std::string tiny_data(const test::TempDir& d, int batch) {
  return " data.name=synthetic data.synthetic.train_size=64 data.synthetic.test_size=32 data.synthetic.channels=1"
         " data.synthetic.height=8 data.synthetic.width=8 data.synthetic.classes=4 run.threads=1 run.root=" +
         d.path() + " train.batch_size=" + std::to_string(batch) + " ";
}

}  // namespace

TEST(FeatureKd, EveryTermMatchesRepDistillersFormulaInPyTorch) {
  test::TempDir d;
  const KdSection kd;
  // "<term>-init": the init-stage loss of AB and FT, with the modules that stage trains.
  const std::vector<std::string> names = {"at", "sp", "pkt", "rkd", "nst", "fitnet", "vid", "cc", "ab-init", "ft-init", "ft"};
  std::map<std::string, std::map<std::string, torch::Tensor>> ours;
  for (const auto& name : names) {
    Pair p = fixed_outputs();
    const losses::TermContext ctx{kd, losses::output_shapes(p.s), losses::output_shapes(p.t), ""};
    const bool init = name.ends_with("-init");
    auto term = losses::create_kd_loss(init ? name.substr(0, name.size() - 5) : name, ctx, "kd.extra");
    ASSERT_EQ(term->has_init_stage(), init || name == "ft") << name;
    torch::manual_seed(5);
    auto modules = init ? term->init_stage().modules : term->trainable();
    if (modules) modules->train();
    if (init && modules)
      for (auto& w : modules->parameters()) w.set_requires_grad(true);  // as run_init_stage does
    const torch::Tensor loss = init ? term->init_loss(p.s, p.t) : (*term)(p.s, p.t, torch::Tensor());
    ASSERT_EQ(loss.dim(), 0) << name;
    // Inputs and the modules' initial weights for Python, before the backward.
    train::NamedTensors inputs;
    for (size_t i = 0; i < 4; ++i) {
      inputs.emplace_back("s.f" + std::to_string(i), p.s.features[i].detach());
      inputs.emplace_back("t.f" + std::to_string(i), p.t.features[i]);
    }
    inputs.emplace_back("s.emb", p.s.embedding.detach());
    inputs.emplace_back("t.emb", p.t.embedding);
    if (modules)
      for (const auto& kv : modules->named_parameters()) inputs.emplace_back("param." + kv.key(), kv.value().detach().clone());
    train::write_torch_save(d.file(name + ".pth"), inputs, nlohmann::json::object());
    loss.backward();
    auto& o = ours[name];
    o["loss"] = loss.detach();
    for (size_t i = 0; i < 4; ++i)
      if (p.s.features[i].grad().defined()) o["grad.s.f" + std::to_string(i)] = p.s.features[i].grad();
    if (p.s.embedding.grad().defined()) o["grad.s.emb"] = p.s.embedding.grad();
    if (modules)  // FT's paraphraser is frozen in the main training: no gradient
      for (const auto& kv : modules->named_parameters())
        if (kv.value().grad().defined()) o["grad.param." + kv.key()] = kv.value().grad();
  }
  std::string cmd = std::string(KDPRUNE_PYTHON) + " " + KDPRUNE_SOURCE_DIR + "/tests/python/feature_losses.py " + d.path();
  for (const auto& n : names) cmd += " " + n;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    const auto theirs = train::read_torch_save_state_dict(d.file(name + ".out.pth"), name);
    std::map<std::string, torch::Tensor> t(theirs.tensors.begin(), theirs.tensors.end());
    const auto& o = ours[name];
    EXPECT_EQ(o.size(), t.size()) << "the same gradients exist on both sides";
    for (const auto& [key, value] : o) {
      ASSERT_TRUE(t.count(key)) << key;
      const double scale = std::max(1.0, t[key].abs().max().item<double>());
      EXPECT_TRUE(torch::allclose(value, t[key].to(value.dtype()), 1e-4, 1e-6 * scale))
          << key << ": max |diff| " << (value - t[key]).abs().max().item<double>();
    }
    EXPECT_GT(o.at("loss").item<double>(), 0.0);
  }
  // Which gradients exist: the student's side of every term, only the modules' for FT's init stage.
  EXPECT_FALSE(ours["ft-init"].count("grad.s.f3"));
  EXPECT_TRUE(ours["ft-init"].count("grad.param.encoder.0.weight"));
  EXPECT_TRUE(ours["ft"].count("grad.s.f3"));
  EXPECT_TRUE(ours["ft"].count("grad.param.translator.0.weight"));
  EXPECT_FALSE(ours["ft"].count("grad.param.paraphraser.encoder.0.weight"));
  EXPECT_TRUE(ours["ab-init"].count("grad.s.f1") && ours["ab-init"].count("grad.param.connector2.conv.weight"));
}

// FSP: RepDistiller trains it only in its init stage; the main-training term is 0.
TEST(FeatureKd, FspInitStageLossMatchesPyTorch) {
  test::TempDir d;
  torch::manual_seed(12);
  models::ModelOutput s, t;
  const std::vector<std::vector<int64_t>> shapes = {{6, 16, 8, 8}, {6, 16, 8, 8}, {6, 32, 4, 4}, {6, 64, 2, 2}};
  for (const auto& shape : shapes) s.features.push_back(torch::relu(torch::randn(shape)).requires_grad_());
  for (const auto& shape : shapes) t.features.push_back(torch::relu(torch::randn(shape)));
  s.embedding = torch::randn({6, 64}), t.embedding = torch::randn({6, 64}), s.logits = torch::randn({6, 10});
  const KdSection kd;
  auto term = losses::create_kd_loss("fsp", {kd, losses::output_shapes(s), losses::output_shapes(t), ""}, "kd.extra");
  ASSERT_TRUE(term->has_init_stage());
  EXPECT_EQ((*term)(s, t, torch::Tensor()).item<double>(), 0.0);
  const auto loss = term->init_loss(s, t);
  train::NamedTensors inputs;
  for (size_t i = 0; i < 4; ++i) {
    inputs.emplace_back("s.f" + std::to_string(i), s.features[i].detach());
    inputs.emplace_back("t.f" + std::to_string(i), t.features[i]);
  }
  inputs.emplace_back("s.emb", s.embedding), inputs.emplace_back("t.emb", t.embedding);
  train::write_torch_save(d.file("fsp.pth"), inputs, nlohmann::json::object());
  loss.backward();
  const std::string cmd = std::string(KDPRUNE_PYTHON) + " " + KDPRUNE_SOURCE_DIR + "/tests/python/feature_losses.py " + d.path() + " fsp";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const auto theirs = train::read_torch_save_state_dict(d.file("fsp.out.pth"), "fsp");
  std::map<std::string, torch::Tensor> m(theirs.tensors.begin(), theirs.tensors.end());
  EXPECT_TRUE(torch::allclose(loss.detach(), m.at("loss"), 1e-5, 1e-8));
  for (size_t i = 0; i < 4; ++i)
    EXPECT_TRUE(torch::allclose(s.features[i].grad(), m.at("grad.s.f" + std::to_string(i)), 1e-4, 1e-8)) << i;
  // Channels that differ are refused, naming the map.
  auto wide = losses::output_shapes(t);
  wide.features[2][1] = 64;
  try {
    losses::create_kd_loss("fsp", {kd, losses::output_shapes(s), wide, ""}, "kd.extra");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "KD loss 'kd.extra=fsp' needs equal channels in every feature map (RepDistiller's "
                                     "FSP), but feat[2] is 32x4x4 in the student and 64x4x4 in the teacher");
  }
}

TEST(FeatureKd, MismatchedStudentAndTeacherAreOneLineErrors) {
  const KdSection kd;
  losses::OutputShapes three{{{2, 16, 8, 8}, {2, 16, 8, 8}, {2, 32, 4, 4}, {2, 64, 2, 2}}, 64};
  losses::OutputShapes four{{{2, 64, 16, 16}, {2, 64, 16, 16}, {2, 128, 8, 8}, {2, 256, 4, 4}, {2, 512, 2, 2}}, 512};
  const auto error_of = [&](const std::string& name, const losses::OutputShapes& s, const losses::OutputShapes& t) {
    try {
      losses::create_kd_loss(name, losses::TermContext{kd, s, t, ""}, "kd.extra");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(error_of("vid", three, four),
            "KD loss 'kd.extra=vid' pairs the stages of student and teacher, but the student has 3 (16x8x8, 32x4x4, "
            "64x2x2) and the teacher 4 (64x16x16, 128x8x8, 256x4x4, 512x2x2)");
  losses::OutputShapes small{{{2, 16, 8, 8}, {2, 16, 8, 8}, {2, 32, 1, 1}, {2, 64, 1, 1}}, 64};
  EXPECT_EQ(error_of("fitnet", small, three),
            "KD loss 'kd.extra=fitnet': no regressor from the student's hint layer (32x1x1) to the teacher's (32x4x4): "
            "the student map is smaller, not half");
  EXPECT_EQ(error_of("at", three, three), "accepted");
  KdSection hint4;
  hint4.hint_layer = 4;
  try {
    losses::create_kd_loss("fitnet", losses::TermContext{hint4, three, four, ""}, "kd.extra");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "KD loss 'kd.extra=fitnet': kd.hint_layer = 4, but feat[0..3] (the stem and 3 stages) "
                                     "are what student and teacher both have");
  }
}

// FSP's init stage through the CLI: kd.init_epochs epochs on the student's feature layers only
// (the classifier keeps its initial weights), then the main training; logged, checkpointed.
TEST(FeatureKd, FspInitStageTrainsTheFeatureLayersOnly) {
  test::TempDir d;
  const std::string data = tiny_data(d, 32);
  ASSERT_EQ(test::run("train-teacher" + data + "run.name=t model.arch=resnet14 train.epochs=1").code, 0);
  // train.epochs=0: the model after the init stage alone.
  const auto r = test::run("distill" + data + "run.name=s train.epochs=0 kd.teacher=" + d.file("t/model.pt") +
                           " kd.weighting=repdistiller kd.alpha=1 kd.extra=fsp kd.beta=1 kd.init_epochs=2");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("init stage (fsp): 2 epochs on the student's feature layers"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(d.file("s/init_checkpoint.pt")));
  // The same run without the init stage (kd.init_epochs=0) is the untrained student of that seed.
  const auto u_run = test::run("distill" + data + "run.name=u train.epochs=0 kd.teacher=" + d.file("t/model.pt") +
                               " kd.weighting=repdistiller kd.alpha=1 kd.extra=fsp kd.beta=1 kd.init_epochs=0");
  ASSERT_EQ(u_run.code, 0) << u_run.out;
  EXPECT_NE(u_run.out.find("kd.init_epochs = 0: no init stage for fsp"), std::string::npos) << u_run.out;
  const auto after = train::read_torch_save_state_dict(d.file("s/model.pth"), "s");
  const auto untrained = train::read_torch_save_state_dict(d.file("u/model.pth"), "u");
  std::map<std::string, torch::Tensor> a(after.tensors.begin(), after.tensors.end()), u(untrained.tensors.begin(), untrained.tensors.end());
  EXPECT_TRUE(torch::equal(a.at("fc.weight"), u.at("fc.weight"))) << "the classifier is not in the init stage";
  EXPECT_FALSE(torch::equal(a.at("conv1.weight"), u.at("conv1.weight"))) << "the feature layers are";
}

// AB's init stage: the student's feature layers on the activation-boundary loss of pre-activation
// features (resnet8 and resnet14 agree in every stage: identity connectors, nothing else trained);
// FT's: the paraphraser alone at lr 0.01, the student frozen (its weights and BN statistics as
// initialised), the paraphraser then frozen in the main training beside the trained translator.
TEST(FeatureKd, AbAndFtInitStagesTrainWhatRepDistillerTrains) {
  test::TempDir d;
  const std::string data = tiny_data(d, 32);
  ASSERT_EQ(test::run("train-teacher" + data + "run.name=t model.arch=resnet14 train.epochs=1").code, 0);
  const std::string kd = " kd.teacher=" + d.file("t/model.pt") + " kd.weighting=repdistiller kd.alpha=1 kd.beta=1 ";
  const auto u = test::run("distill" + data + "run.name=u train.epochs=0" + kd + "kd.extra=ab kd.init_epochs=0");
  ASSERT_EQ(u.code, 0) << u.out;
  const auto ab = test::run("distill" + data + "run.name=ab train.epochs=0" + kd + "kd.extra=ab kd.init_epochs=2");
  ASSERT_EQ(ab.code, 0) << ab.out;
  EXPECT_NE(ab.out.find("init stage (ab): 2 epochs on the student's feature layers ("), std::string::npos) << ab.out;
  EXPECT_EQ(ab.out.find("term's modules"), std::string::npos) << "identity connectors: " << ab.out;
  const auto ft = test::run("distill" + data + "run.name=ft train.epochs=1" + kd + "kd.extra=ft kd.init_epochs=2");
  ASSERT_EQ(ft.code, 0) << ft.out;
  EXPECT_NE(ft.out.find("init stage (ft): 2 epochs on the term's modules ("), std::string::npos) << ft.out;
  EXPECT_NE(ft.out.find("lr 0.01 constant"), std::string::npos) << ft.out;
  EXPECT_NE(ft.out.find("frozen, kept in the checkpoint"), std::string::npos) << ft.out;
  const auto ft0 = test::run("distill" + data + "run.name=ft0 train.epochs=0" + kd + "kd.extra=ft kd.init_epochs=2");
  ASSERT_EQ(ft0.code, 0) << ft0.out;
  const auto read = [&](const std::string& run) {
    const auto f = train::read_torch_save_state_dict(d.file(run + "/model.pth"), run);
    return std::map<std::string, torch::Tensor>(f.tensors.begin(), f.tensors.end());
  };
  const auto untrained = read("u"), after_ab = read("ab"), after_ft = read("ft0");
  EXPECT_FALSE(torch::equal(after_ab.at("conv1.weight"), untrained.at("conv1.weight")));
  EXPECT_TRUE(torch::equal(after_ab.at("fc.weight"), untrained.at("fc.weight")));
  for (const auto& [name, value] : untrained)  // FT's init stage leaves every student tensor as it was
    EXPECT_TRUE(torch::equal(after_ft.at(name), value)) << name;
}

// CRD against RepDistiller's criterion.py and memory.py in PyTorch: on the contrast indices kdprune
// drew (checked here to be RepDistiller's "exact" sampling), the loss, the gradients of the student
// embedding and both Embeds, the memory banks after the momentum update, and Z (fixed after the
// first batch).
TEST(FeatureKd, CrdMatchesRepDistillersCriterionAndMemory) {
  test::TempDir d;
  Pair p = fixed_outputs();
  KdSection kd;
  kd.nce_k = 8;
  // 20 samples in the view, classes 0..3 (5 each): 15 negatives per sample.
  const auto labels = torch::arange(20, torch::kInt64).remainder(4);
  const losses::TermContext ctx{kd, losses::output_shapes(p.s), losses::output_shapes(p.t), "", labels};
  torch::manual_seed(5);
  auto term = losses::create_kd_loss("crd", ctx, "kd.extra");
  auto modules = term->trainable();
  ASSERT_TRUE(modules);
  const auto positions = torch::tensor({3, 7, 0, 12, 19, 5}, torch::kInt64);
  const uint64_t seed = 42;
  const auto idx = losses::feature::crd_contrast_indices(losses::feature::class_index(labels), positions, 8, seed);
  ASSERT_EQ(idx.sizes(), (std::vector<int64_t>{6, 9}));
  EXPECT_TRUE(torch::equal(idx.select(1, 0), positions)) << "exact mode: the positive is the sample itself";
  for (int64_t i = 0; i < 6; ++i) {
    const auto neg = idx[i].slice(0, 1);
    EXPECT_TRUE(labels.index_select(0, neg).ne(labels[positions[i].item<int64_t>()]).all().item<bool>()) << i;
    EXPECT_EQ(std::get<0>(at::_unique(neg)).numel(), 8) << "without replacement where 15 >= k";
  }
  EXPECT_TRUE(torch::equal(idx, losses::feature::crd_contrast_indices(losses::feature::class_index(labels), positions, 8, seed)));
  EXPECT_FALSE(torch::equal(idx, losses::feature::crd_contrast_indices(losses::feature::class_index(labels), positions, 8, seed + 1)));
  // k above the negatives: with replacement, still other classes only.
  const auto many = losses::feature::crd_contrast_indices(losses::feature::class_index(labels), positions, 40, seed);
  for (int64_t i = 0; i < 6; ++i)
    EXPECT_TRUE(labels.index_select(0, many[i].slice(0, 1)).ne(labels[positions[i].item<int64_t>()]).all().item<bool>());

  train::NamedTensors inputs;
  inputs.emplace_back("s.emb", p.s.embedding.detach());
  inputs.emplace_back("t.emb", p.t.embedding);
  inputs.emplace_back("idx", idx);
  inputs.emplace_back("positions", positions);
  for (const auto& kv : modules->named_parameters()) inputs.emplace_back("param." + kv.key(), kv.value().detach().clone());
  for (const auto& kv : modules->named_buffers()) inputs.emplace_back("buf." + kv.key(), kv.value().clone());
  train::write_torch_save(d.file("crd.pth"), inputs, nlohmann::json::object());
  const train::BatchInfo batch{positions, 0, 0, 20, seed};
  term->on_batch(batch);
  const auto loss = (*term)(p.s, p.t, torch::Tensor());
  loss.backward();
  const std::string cmd = std::string(KDPRUNE_PYTHON) + " " + KDPRUNE_SOURCE_DIR + "/tests/python/feature_losses.py " + d.path() + " crd";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const auto theirs = train::read_torch_save_state_dict(d.file("crd.out.pth"), "crd");
  std::map<std::string, torch::Tensor> t(theirs.tensors.begin(), theirs.tensors.end());
  auto buffers = modules->named_buffers();
  std::map<std::string, torch::Tensor> o = {{"loss", loss.detach()}, {"grad.s.emb", p.s.embedding.grad()},
                                            {"memory_s", buffers["memory_s"]}, {"memory_t", buffers["memory_t"]},
                                            {"z", buffers["z"]}};
  for (const auto& kv : modules->named_parameters()) o["grad.param." + kv.key()] = kv.value().grad();
  EXPECT_EQ(o.size(), t.size());
  for (const auto& [key, value] : o) {
    ASSERT_TRUE(t.count(key)) << key;
    const double scale = std::max(1.0, t[key].abs().max().item<double>());
    EXPECT_TRUE(torch::allclose(value, t[key].to(value.dtype()), 1e-4, 1e-6 * scale))
        << key << ": max |diff| " << (value - t[key].to(value.dtype())).abs().max().item<double>();
  }
  // Z stays as set by the first batch.
  const auto z = buffers["z"].clone();
  term->on_batch({positions, 0, 1, 20, seed + 1});
  (*term)(p.s, p.t, torch::Tensor());
  EXPECT_TRUE(torch::equal(z, buffers["z"]));
  // Without the view's labels: a one-line error.
  try {
    losses::create_kd_loss("crd", {kd, losses::output_shapes(p.s), losses::output_shapes(p.t), ""}, "kd.extra");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "KD loss 'kd.extra=crd' needs the training view's labels (its negatives are samples of other classes)");
  }
}

// CRD through the CLI on a pruned view: the banks are sized by the view (not the dataset), and
// the memory goes into the checkpoint.
TEST(FeatureKd, CrdTrainsOnAPrunedViewThroughTheCli) {
  test::TempDir d;
  const std::string data = tiny_data(d, 16);
  ASSERT_EQ(test::run("train-teacher" + data + "run.name=t model.arch=resnet14 train.epochs=1").code, 0);
  const auto r = test::run("distill" + data + "run.name=s train.epochs=2 data.fraction=0.5 kd.teacher=" +
                           d.file("t/model.pt") + " kd.weighting=repdistiller kd.alpha=1 kd.beta=1 kd.extra=crd kd.nce_k=64");
  ASSERT_EQ(r.code, 0) << r.out;
  // embed_s 64·128 + 128, embed_t the same
  EXPECT_NE(r.out.find("KD loss modules trained with the student: 16640 parameters"), std::string::npos) << r.out;
  torch::serialize::InputArchive archive;
  archive.load_from(d.file("s/checkpoint.pt"));
  torch::serialize::InputArchive modules, extra;
  ASSERT_TRUE(archive.try_read("kd_modules", modules));
  ASSERT_TRUE(modules.try_read("extra", extra));
  torch::Tensor memory;
  ASSERT_TRUE(extra.try_read("memory_s", memory, /*is_buffer=*/true));
  EXPECT_EQ(memory.sizes(), (std::vector<int64_t>{32, 128})) << "one row per sample of the view";
}
