"""Values that several parts of the system (Lambdas, the two containers, the local runtime, the CDK app) must
agree on, written once here and imported everywhere else: the model artifact's file names, the training
channel, the states of a SageMaker training job, the photo types the platform reads, the photo pixel limit.

Plain constants only: every part may import this module, the containers included.
"""

from __future__ import annotations

# -- the model artifact (model.tar.gz, as the training program writes it and the inference server reads it) --
MODEL_ARTIFACT = "model.tar.gz"  # SageMaker packs /opt/ml/model as {output path}/{job}/output/model.tar.gz
OUTPUT_ARTIFACT = "output.tar.gz"  # and /opt/ml/output/data beside it
MODEL_FILE = "model.onnx"
LABELS_FILE = "labels.json"
METRICS_FILE = "metrics.json"
SPLIT_FILE = "split.json"
REPORT_DIR = "report"

# -- the training job --------------------------------------------------------------------------------------
TRAINING_CHANNEL = "training"  # the one input channel: the frozen dataset
CHECKPOINT_DIR = "/opt/ml/checkpoints"  # where SageMaker syncs the job's checkpoints from S3
JOB_RUNNING_STATES = ("InProgress", "Stopping")
JOB_END_STATES = ("Completed", "Failed", "Stopped")

# -- the detector's answers ---------------------------------------------------------------------------
# The confidence threshold when nothing better is known (no threshold chosen on validation): ultralytics'
# predict default. The training program falls back to it, the inference server floors at it, the verdict uses it.
DEFAULT_CONFIDENCE = 0.25

# -- a brand ---------------------------------------------------------------------------------------------
# Classes per brand: ingest moves the brand's per-class counters in one DynamoDB write whose condition checks
# every class's name, about 47 bytes of expression per class, and an expression holds 4 KB (85 classes).
MAX_CLASSES_PER_BRAND = 64

# -- photos ------------------------------------------------------------------------------------------------
JPEG, PNG, HEIC, HEIF = "image/jpeg", "image/png", "image/heic", "image/heif"
PHOTO_MEDIA_TYPES = (JPEG, PNG, HEIC, HEIF)  # what uploads, ingest and verify accept
PHOTO_SUFFIXES = {".jpg": JPEG, ".jpeg": JPEG, ".png": PNG, ".heic": HEIC, ".heif": HEIF}
MAX_PHOTO_PIXELS = 50_000_000  # an uploaded training photo: a 48 MP phone sensor fits; a decompression bomb does not
# A shopper's photo on the public route: what a 640 px model needs. A JPEG up to 5120 px a side decodes at 1/8 scale
# to the model's input; more pixels only cost decoding work (25 MP, where an upload may have 50).
MAX_VERIFY_PIXELS = 5120 * 5120
# The public route's body: API Gateway hands Lambda at most 6 MB of event, and a binary body arrives base64-encoded
# (4 bytes for 3) inside a JSON event of a few KB, so a photo must be at most this many bytes.
MAX_VERIFY_PHOTO_BYTES = 4_500_000
