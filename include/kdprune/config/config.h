#pragma once
// Typed configuration shared by every subcommand. One struct per top-level YAML section; the
// keys, defaults and allowed values are declared once in src/config/schema.h and drive loading,
// validation and the resolved-config writer alike.
#include <cstdint>
#include <string>
#include <vector>

#include "kdprune/config/choice.h"

namespace kdprune {

struct RunSection {
  std::string name;             // default: <subcommand>-<timestamp>
  std::string root = "runs";    // run directories live in <root>/<name>
  int64_t seed = 0;
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  int64_t threads = 0;          // intra-op CPU threads; 0 = library default
  bool adapt_threads = false;   // fewer threads while other processes hold cores (system/cpu_share.h):
                                // faster on a shared machine, but the weights then depend on the load
  std::string log_level = "info";
  int64_t log_every_steps = 0;  // > 0: every N global steps a step row (loss, lr, img/s) in metrics.jsonl and TensorBoard
};

struct SyntheticSection {  // data.name = synthetic
  int64_t train_size = 1000;
  int64_t test_size = 200;
  int64_t channels = 3;
  int64_t height = 32;
  int64_t width = 32;
  int64_t classes = 10;
  double noise = 0.5;  // 0 = every image is its class prototype
  int64_t seed = -1;   // draws the prototypes and images; -1 = run.seed (kdprune run pins it for other seeds)
};

struct ImageFolderSection {  // data.name = imagefolder
  int64_t size = 64;          // images are resized once (shorter side, bilinear) and centre-cropped to size×size
  int64_t max_bad = 0;        // files that fail to decode: skipped up to this many (each reported), else the run stops
  std::string cache;          // the decoded set is saved here for later runs: "" = <root>/.kdprune-cache, "off" = never
  // Decode per batch instead (ImageNet at 224): RandomResizedCrop(size) + flip for training,
  // Resize(eval_resize) + CenterCrop(size) for evaluation; nothing held decoded or cached.
  bool stream = false;
  int64_t eval_resize = 0;  // 0 = size·8/7 (256 for 224)
  int64_t threads = 0;      // decoding threads per batch; 0 = the machine's cores (at most 16)
};

struct DataSection {
  std::string name = "fashion-mnist";
  std::string root;             // default: the dataset's usual location
  double fraction = 1.0;        // keep this fraction of the training set (random, seeded)
  std::string subset;           // index file (.npy) written by `prune`
  double split = 0.0;           // disjoint teacher/student split: teacher share; 0 = no split
  int64_t split_seed = -1;      // seeds the split; -1 = run.seed (kdprune run pins it to the experiment's base seed)
  std::string part = "all";     // all | teacher | student
  double val_split = 0.0;       // > 0: this share of the training view (class-stratified, seeded by split_seed) is
                                // held out to choose the best epoch / best.pt; 0 = chosen on the test set (RepDistiller)
  bool augment = true;          // random crop + flip (where valid) during training
  SyntheticSection synthetic;
  ImageFolderSection imagefolder;
};

struct ModelSection {
  std::string arch = "resnet8";
  std::string init;  // weights to start from: a kdprune model.pt or a PyTorch state_dict file; "" = random
};

struct TrainSection {
  int64_t epochs = 240;
  int64_t batch_size = 64;
  double lr = 0.05;
  double momentum = 0.9;
  bool nesterov = false;
  double weight_decay = 5e-4;
  std::string schedule = "multistep";  // multistep | cosine | constant
  std::vector<int64_t> milestones{150, 180, 210};
  double gamma = 0.1;
  int64_t warmup_epochs = 0;
  // auto | off | bf16 | fp16. auto: what this device was measured to train as accurately as fp32 and
  // faster (train::resolve_precision): bf16 on CPUs with native bf16, fp32 elsewhere, CUDA included.
  Amp amp = AmpSetting::automatic;
  Layout channels_last = LayoutSetting::automatic;  // auto | true | false; auto: true when amp is bf16 or fp16
  Capture cuda_graph = CaptureSetting::automatic;   // auto | on | off: capture the training step as a CUDA graph
  // Students trained together in one process (kdprune run, distill --alphas): the memory their
  // training may take, e.g. 40GiB or 512MiB; auto = what fits (90 % of the device's free memory).
  std::string group_max = "auto";
  int64_t eval_every = 1;
  int64_t checkpoint_every = 10;
  int64_t eval_batch_size = 512;
  // Data-parallel runs: BatchNorm statistics over the whole step's batch, every rank's part of it
  // (PyTorch's SyncBatchNorm); false: each rank's own part (PyTorch DDP's default).
  bool sync_batchnorm = false;
  // Data-parallel runs: gradients are averaged in buckets of about this many MiB (the first 1 MiB),
  // each started as soon as backward has filled it (overlap) or all after backward (PyTorch DDP's
  // bucket_cap_mb and Reducer).
  double grad_bucket_mb = 25;
  bool grad_overlap = true;
  // Data-parallel runs: what reduces CUDA tensors. auto: NCCL where this build has it, else Gloo
  // (through the host); CPU tensors and the host's values always go over Gloo.
  std::string dist_backend = "auto";  // auto | nccl | gloo
};

// α, or α as a function of the kept fraction f (the paper: the best α grows as f shrinks).
//   alpha: 0.5
//   alpha: {schedule: linear, at_f: [0.1, 0.7], value: [1.0, 0.5]}       (clamped outside)
//   alpha: {schedule: table, points: [[0.1, 1.0], [0.3, 0.9], [0.7, 0.5]]} (piecewise linear)
struct AlphaSpec {
  std::string schedule = "constant";  // constant | linear | table
  double value = 0.5;                 // constant
  std::vector<double> at_f, values;   // linear: two points; table: sorted points
  double at(double f) const;          // α for kept fraction f
};

struct KdSection {
  std::string teacher;       // model.pt of a train-teacher run, or a PyTorch state_dict file
  std::string teacher_arch;  // architecture of a PyTorch teacher file; "" = from the file or its shapes
  AlphaSpec alpha;
  double tau = 4.0;
  std::string loss = "kd";               // the distillation term, by name (KD-loss registry)
  std::string weighting = "convex";      // convex: (1-α)·CE + α·KD; repdistiller: γ·CE + α·KD + β·extra
  double gamma = 1.0;                    // repdistiller CE weight
  double beta = 0.0;                     // repdistiller weight of the extra (feature) term
  std::string extra;                     // name of the extra term; "" = none
  int64_t init_epochs = 30;              // the init stage of terms that have one (FSP, AB, FT), RepDistiller's --init_epochs
  int64_t hint_layer = 2;                // FitNets' hint: feat[hint_layer] (0 the stem, 1..k the stages), --hint_layer
  int64_t nce_k = 16384;                 // CRD's negatives per sample, RepDistiller's --nce_k
};

struct PruneSection {
  std::string method = "random";
  double fraction = 1.0;
  std::string level = "hard";  // hard | easy | moderate
  bool class_balanced = false;
  std::string class_shares = "equal";  // class_balanced: equal shares of N_f | proportional round(f * n_c) (DeepCore)
  std::string scores;
  std::string scores_order;       // dataset index of each position of the scores file (.npy or text); "" = by position
  int64_t seed = 0;
  std::string sampling = "auto";  // auto (beta for DUAL scores at f <= 0.5, else topk) | topk (by level) | ccs | beta (DUAL) | d2
  double cutoff = 0.0;            // ccs, d2: drop this fraction of the pool first (the likeliest mislabeled)
  // ccs, d2: what the cut-off ranks by. aum: the lowest AUM (as the CCS and D2 reference code, from
  // the scoring run's aum.npy or prune.aum); score: the highest selection score; auto: aum when an
  // AUM file is there, else score.
  std::string cutoff_by = "auto";
  std::string aum;                // ccs, d2: per-sample AUM (.npy); "" = aum.npy beside the scores
  int64_t strata = 50;            // ccs: equal-width score strata
  double beta_cd = 4.0;           // beta: c_d of DUAL's Beta sampling
  std::string mean_prob;          // beta: per-sample mean true-class probability (.npy); "" = beside the scores
  std::string model;              // d2: model.pt whose embeddings build the kNN graph
  int64_t knn = 5;                // d2: neighbours per node (the reference README's 5)
  double d2_gamma = 1.0;          // d2: forward message passing weight exp(-d2_gamma d); the reference: exp(-d)
  double d2_beta = 0.1;           // d2: reverse (selection) discount exp(-d2_beta d); the reference's --gamma 0.1
  std::string d2_graph = "symmetric";  // d2: symmetric (kNN edges both ways, as the reference) | knn (out-edges)
  bool d2_per_class = true;       // d2: a graph and an equal budget share per class (the reference's class mode)
};

struct ScoreSection {
  std::string method = "forgetting";
  int64_t epochs = 20;
  // The length of the learning-rate schedule the scoring models follow; they stop at score.epochs
  // (data_diet takes EL2N at epoch 20 of a 200-epoch run, DUAL the first 30 of 200).
  // 0 = train.epochs (the recipe's full length); -1 = anneal the whole schedule within score.epochs.
  int64_t schedule_epochs = 0;
  int64_t models = 1;
  std::string scope = "last_layer";
  double subset_ratio = 0.7;  // memorization: each model trains on this random share of the pool
  int64_t window = 10;        // dual: J, the sliding window in epochs
  // memorization: "i/n" trains only models k with k % n == i (one process of n running at once);
  // empty = every model. Shards share `outcomes_dir`; a run without a shard aggregates.
  std::string shard;
  std::string outcomes_dir;   // memorization: per-model outcome files; empty = <run>/memorization
  // A model file (kdprune model.pt, or a PyTorch torch.save file) whose outputs are scored instead
  // of training a model: the methods that are functions of one model (Scorer::one_model). "" = train.
  std::string checkpoint;
  bool save_models = false;  // write each scoring model (model.pt + model.pth; model-K.* for several)
};

// "i/n" with 0 <= i < n -> {i, n}; empty -> {0, 1}; anything else -> {-1, 0}.
struct Shard {
  int64_t index = 0;
  int64_t count = 1;
  bool valid() const { return count >= 1 && index >= 0 && index < count; }
};
Shard parse_shard(const std::string& text);

struct Config {
  RunSection run;
  DataSection data;
  ModelSection model;
  TrainSection train;
  KdSection kd;
  PruneSection prune;
  ScoreSection score;
};

// A memory size such as 512MiB, 40GiB, 2.5G or 1048576 (bytes; K, M, G, T with optional "i"/"B",
// all powers of 1024); -1 where the text is not one.
int64_t parse_memory_size(const std::string& text);

// Defaults, then the YAML file (may be empty: defaults only), then `a.b=c` overrides (values
// parsed as YAML, so `train.milestones=[10,20]` works). Throws kdprune::Error naming the file or
// override, the key path and what was expected.
// `fallbacks` ("a.b=c") apply only to keys that neither the file nor an override sets (e.g. eval
// takes data.name from the checkpoint unless the user names a dataset).
Config load_config(const std::string& path, const std::vector<std::string>& overrides,
                   const std::vector<std::string>& fallbacks = {});

// The folder a config file's relative paths are relative to: the file's own folder, or "" for a
// resolved config (a run's config.yaml, `kdprune config` output: first line kResolvedHeader),
// whose paths stay as they were resolved.
std::string config_dir(const std::string& path);

// load_config from YAML text; `label` names it in error messages. `relative_to`: the folder
// relative paths of the text are relative to ("" = as written; for text taken from a config
// file, that file's folder).
Config load_config_text(const std::string& yaml, const std::string& label, const std::vector<std::string>& overrides,
                        const std::string& relative_to = "");

// For files with a section beyond the config sections (kdprune run's `experiment`): the file with
// the overrides applied, split into that section and the rest (the base every stage starts
// from), both as YAML text. Overrides "section.key=value" go to the section.
struct SplitConfig {
  std::string base_yaml;
  std::string section_yaml;
};
SplitConfig split_config(const std::string& path, const std::string& section, const std::vector<std::string>& overrides);

// A run resumed (or a stage taken up again) continues in the precision it started with: train.amp
// and train.channels_last left at auto take `started`'s values (a run from before auto: off, false).
void keep_started_precision(TrainSection& now, const TrainSection& started);

// The resolved config as YAML; load_config of this text gives back the same Config.
std::string to_yaml(const Config& config);
// The reference point of to_yaml_changes: the defaults, except that a default changed since
// stage fingerprints began (2026-11) keeps its old value here, so a config that spelled out the
// old value keeps its identity and one that relied on the default does not.
const Config& yaml_changes_baseline();
// Only the keys whose value differs from yaml_changes_baseline(): a stable identity of a config,
// unchanged when a later version adds keys with neutral defaults.
std::string to_yaml_changes(const Config& config);

}  // namespace kdprune
