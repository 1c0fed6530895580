#include <gtest/gtest.h>

#include <limits>
#include <numeric>

#include "kdprune/data/dataset_registry.h"
#include "kdprune/data/tensor_dataset.h"
#include "kdprune/data/train_view.h"
#include "kdprune/train/augment.h"
#include "kdprune/train/lr_schedule.h"
#include "kdprune/train/model_file.h"
#include "kdprune/train/trainer.h"
#include "kdprune/util/error.h"
#include "test_files.h"

using namespace kdprune;

namespace {
data::TensorDataset synthetic(int64_t train, int64_t test, double noise, int64_t size = 8) {
  DataSection d;
  d.name = "synthetic";
  d.synthetic.train_size = train;
  d.synthetic.test_size = test;
  d.synthetic.channels = 1;
  d.synthetic.height = size;
  d.synthetic.width = size;
  d.synthetic.classes = 4;
  d.synthetic.noise = noise;
  return data::to_tensors(data::load_dataset(d, 1), torch::Device(torch::kCPU));
}
TrainSection quick(int64_t epochs) {
  TrainSection t;
  t.epochs = epochs;
  t.batch_size = 16;
  t.lr = 0.05;
  t.schedule = "constant";
  t.milestones = {};
  return t;
}
}  // namespace

TEST(LrSchedule, MultistepCosineWarmup) {
  TrainSection t;  // the paper's recipe: 0.05, ×0.1 at 150/180/210 of 240
  EXPECT_DOUBLE_EQ(train::lr_at(t, 0, 0, 10), 0.05);
  EXPECT_DOUBLE_EQ(train::lr_at(t, 149, 9, 10), 0.05);
  EXPECT_NEAR(train::lr_at(t, 150, 0, 10), 0.005, 1e-15);
  EXPECT_NEAR(train::lr_at(t, 239, 0, 10), 0.05e-3, 1e-15);
  t.schedule = "cosine";
  t.epochs = 10;
  EXPECT_DOUBLE_EQ(train::lr_at(t, 0, 0, 10), 0.05);
  EXPECT_NEAR(train::lr_at(t, 5, 0, 10), 0.025, 1e-12);
  t.warmup_epochs = 2;
  EXPECT_NEAR(train::lr_at(t, 0, 0, 10), 0.05 / 20, 1e-12);
  EXPECT_NEAR(train::lr_at(t, 1, 9, 10), 0.05, 1e-12);
  EXPECT_NEAR(train::lr_at(t, 2, 0, 10), 0.05, 1e-12);  // cosine starts after the warm-up
}

TEST(Augment, MatchesPerSampleCropAndFlip) {
  auto images = torch::randint(0, 256, {6, 2, 5, 7}, torch::kUInt8);
  data::DatasetInfo info{"t", 2, {0.5f, 0.25f}, {0.2f, 0.4f}, true, {}};
  const train::AugmentSpec spec{2, true};
  auto gen = at::make_generator<at::CPUGeneratorImpl>(42);
  auto out = train::augment_batch(images, data::Normalizer(info, torch::kCPU), spec, gen);
  // Brute force with the same draws: offsets (rows, then cols), then flip coins.
  auto g2 = at::make_generator<at::CPUGeneratorImpl>(42);
  auto oy = torch::randint(0, 5, {6}, g2, torch::kInt64), ox = torch::randint(0, 5, {6}, g2, torch::kInt64);
  auto coin = torch::rand({6}, g2) < 0.5;
  for (int64_t i = 0; i < 6; ++i) {
    auto padded = torch::zeros({2, 9, 11}, torch::kFloat32);
    padded.slice(1, 2, 7).slice(2, 2, 9).copy_(images[i].to(torch::kFloat32));
    auto crop = padded.slice(1, oy[i].item<int64_t>(), oy[i].item<int64_t>() + 5)
                    .slice(2, ox[i].item<int64_t>(), ox[i].item<int64_t>() + 7);
    if (coin[i].item<bool>()) crop = crop.flip({2});
    for (int c = 0; c < 2; ++c) {
      auto expect = (crop[c] / 255.0 - info.mean[c]) / info.std[c];
      EXPECT_TRUE(torch::allclose(out[i][c], expect, 1e-5, 1e-5)) << "sample " << i << " channel " << c;
    }
  }
}

TEST(Augment, FlipTwiceIsIdentityAndCropsStayInsideThePaddedImage) {
  auto images = torch::randint(1, 256, {64, 1, 6, 6}, torch::kUInt8);  // no zeros inside the image
  data::DatasetInfo info{"t", 2, {0.0f}, {1.0f / 255.0f}, true, {}};      // normalise to raw values
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  auto flipped = train::augment_batch(images, data::Normalizer(info, torch::kCPU), {0, true}, gen);
  auto twice = flipped.flip({3});
  auto gen2 = at::make_generator<at::CPUGeneratorImpl>(1);
  auto mask = (torch::rand({64}, gen2) < 0.5).view({64, 1, 1, 1});
  EXPECT_TRUE(torch::allclose(torch::where(mask, twice, flipped), images.to(torch::kFloat32), 1e-5, 1e-3));
  // A crop of pad p shows exactly a 6×6 window of the padded image: every pixel is either an
  // image pixel or padding (0), and the number of non-zero rows/cols lost is at most p.
  auto gen3 = at::make_generator<at::CPUGeneratorImpl>(2);
  auto crops = train::augment_batch(images, data::Normalizer(info, torch::kCPU), {2, false}, gen3);
  auto nonzero = crops.abs().gt(0.5);
  for (int64_t i = 0; i < 64; ++i) {
    auto rows = nonzero[i][0].any(1).sum().item<int64_t>(), cols = nonzero[i][0].any(0).sum().item<int64_t>();
    EXPECT_GE(rows, 4);
    EXPECT_GE(cols, 4);
  }
}

TEST(Trainer, EpochOrderIsAPureFunctionOfSeedAndEpoch) {
  auto a = train::epoch_permutation(100, 3, 7), b = train::epoch_permutation(100, 3, 7);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, train::epoch_permutation(100, 3, 8)));
  EXPECT_FALSE(torch::equal(a, train::epoch_permutation(100, 4, 7)));
  EXPECT_TRUE(torch::equal(std::get<0>(a.sort()), torch::arange(100)));
}

TEST(Trainer, LearnsAndIsBitwiseReproducible) {
  auto data = synthetic(96, 40, 0.3);
  std::vector<int64_t> idx(96);
  std::iota(idx.begin(), idx.end(), 0);
  auto run = [&](int64_t seed) {
    torch::manual_seed(seed);
    auto m = models::create_model("resnet8", {1, 4, 8});
    auto r = train::fit({.model = *m, .data = data, .indices = idx, .train = quick(6), .seed = seed});
    return std::make_pair(m, r);
  };
  auto [m1, r1] = run(1);
  auto [m2, r2] = run(1);
  auto [m3, r3] = run(2);
  auto p1 = m1->parameters(), p2 = m2->parameters(), p3 = m3->parameters();
  bool same = true, differs = false;
  for (size_t i = 0; i < p1.size(); ++i) {
    same = same && torch::equal(p1[i], p2[i]);
    differs = differs || !torch::equal(p1[i], p3[i]);
  }
  EXPECT_TRUE(same) << "same seed, same weights, bit for bit";
  EXPECT_TRUE(differs);
  EXPECT_GT(r1.final_eval.top1, 60.0) << "4 well-separated classes must be learnt (chance is 25%)";
  EXPECT_EQ(r1.final_eval.samples, 40);
}

TEST(Trainer, EvaluateMatchesDirectComputation) {
  auto data = synthetic(8, 37, 1.0);
  torch::manual_seed(0);
  auto m = models::create_model("resnet8", {1, 4, 8});
  auto r = train::evaluate(*m, data.test, data.info, 10);  // batches of 10, 10, 10, 7
  m->eval();
  torch::NoGradGuard ng;
  auto logits = m->forward(data::normalise(data.test.images, data.info));
  const double top1 = 100.0 * logits.argmax(1).eq(data.test.labels).sum().item<double>() / 37;
  const double loss = torch::nn::functional::cross_entropy(logits, data.test.labels).item<double>();
  EXPECT_NEAR(r.top1, top1, 1e-9);
  EXPECT_NEAR(r.loss, loss, 1e-5);
  EXPECT_GE(r.top5, r.top1);
}

TEST(ModelFile, RoundTripAndBadFiles) {
  kdprune::test::TempDir d;
  torch::manual_seed(0);
  auto m = models::create_model("resnet14", {3, 10, 32});
  train::save_model(d.file("model.pt"), m, {"resnet14", {3, 10, 32}, "cifar10"});
  auto loaded = train::load_model(d.file("model.pt"), torch::Device(torch::kCPU));
  EXPECT_EQ(loaded.meta.arch, "resnet14");
  EXPECT_EQ(loaded.meta.dataset, "cifar10");
  m->eval();
  loaded.model->eval();
  auto x = torch::randn({2, 3, 32, 32});
  EXPECT_TRUE(torch::equal(m->forward(x), loaded.model->forward(x)));
  auto bytes = kdprune::test::read_bytes(d.file("model.pt"));
  kdprune::test::write_bytes(d.file("cut.pt"), bytes.substr(0, bytes.size() / 2));
  EXPECT_THROW(train::load_model(d.file("cut.pt"), torch::Device(torch::kCPU)), Error);
  EXPECT_THROW(train::load_model(d.file("none.pt"), torch::Device(torch::kCPU)), Error);
}

// A model file or checkpoint with NaN/inf weights is refused on load, naming the tensor, rather
// than evaluated ("loss -nan", exit 0) or trained from (a "lower train.lr" message that blames
// the wrong thing).
TEST(ModelFile, NonFiniteWeightsAreRefusedNamingTheTensor) {
  kdprune::test::TempDir d;
  torch::manual_seed(0);
  auto m = models::create_model("resnet8", {1, 4, 8});
  {
    torch::NoGradGuard ng;
    auto params = m->named_parameters();
    params[params.keys().back()].view(-1)[0] = std::numeric_limits<float>::quiet_NaN();
  }
  train::save_model(d.file("model.pt"), m, {"resnet8", {1, 4, 8}, "synthetic"});
  const std::string err = kdprune::test::error_of([&] { train::load_model(d.file("model.pt"), torch::Device(torch::kCPU)); });
  EXPECT_NE(err.find("NaN or infinite"), std::string::npos) << err;
  EXPECT_NE(err.find("'" + m->named_parameters().keys().back() + "'"), std::string::npos) << err;
}

// One flipped bit anywhere in the zip directory at the end of a model file either changes nothing
// that is read or is reported as damage, never as a type error of the unpickler.
TEST(ModelFile, ABitFlipInTheZipDirectoryReadsAsDamage) {
  kdprune::test::TempDir d;
  torch::manual_seed(0);
  auto m = models::create_model("resnet8", {1, 4, 8});
  train::save_model(d.file("model.pt"), m, {"resnet8", {1, 4, 8}, "synthetic"});
  const std::string bytes = kdprune::test::read_bytes(d.file("model.pt"));
  int reported = 0;
  for (size_t back = 1; back <= 600 && back < bytes.size(); ++back) {
    std::string flipped = bytes;
    flipped[flipped.size() - back] ^= 0x04;
    kdprune::test::write_bytes(d.file("flipped.pt"), flipped);
    const std::string err = kdprune::test::error_of([&] { train::load_model(d.file("flipped.pt"), torch::Device(torch::kCPU)); });
    if (err.empty()) continue;
    ++reported;
    const bool says_damage = err.find("damaged") != std::string::npos || err.find("truncated") != std::string::npos ||
                             err.find("CRC") != std::string::npos || err.find("not a zip") != std::string::npos;
    EXPECT_TRUE(says_damage) << "flip at " << back << " bytes from the end: " << err;
  }
  EXPECT_GT(reported, 100);
}
