"""Values that several parts of the system (Lambdas, the two containers, the local runtime, the CDK app) must
agree on, written once here and imported everywhere else: the model artifact's file names, the training
channel, the states of a SageMaker training job, the photo types the platform reads, the photo pixel limit, and
what every server of the shopper's page sends with it.

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

# -- photos ------------------------------------------------------------------------------------------------
JPEG, PNG, HEIC, HEIF = "image/jpeg", "image/png", "image/heic", "image/heif"
PHOTO_MEDIA_TYPES = (JPEG, PNG, HEIC, HEIF)  # what uploads, ingest and verify accept
PHOTO_SUFFIXES = {".jpg": JPEG, ".jpeg": JPEG, ".png": PNG, ".heic": HEIC, ".heif": HEIF}
MAX_PHOTO_PIXELS = 50_000_000  # a 48 MP phone sensor fits; a decompression bomb does not

# -- the shopper's page (web/ at the repository root), as CloudFront and the local gateway serve it -----------
PAGE_INDEX = "index.html"
# GS1 Digital Link URIs that carry a GTIN (`/01/{gtin}[/...]?brand=...`) open the page itself, so a brand can
# print one URI on its packaging for both GS1 resolvers and shoppers.
PAGE_DEEP_LINK_PREFIXES = ("/01/",)
# The page loads only its own files and talks only to its own origin (the verify route is served beside it: by
# the local gateway, and in AWS by the same CloudFront distribution). Photos are shown from blob: URLs; `data:`
# is the empty favicon. No inline script or style, no eval, no frames, no forms.
PAGE_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_REFERRER_POLICY = "no-referrer"
PAGE_FRAME_OPTIONS = "DENY"
# The page needs none of these; the camera is not listed: `<input capture>` opens the phone's camera app.
PAGE_PERMISSIONS_POLICY = "geolocation=(), microphone=(), payment=(), usb=()"
PAGE_HSTS_SECONDS = 2 * 365 * 24 * 3600  # two years, subdomains included (CloudFront sends it, over HTTPS only)
# Browsers revalidate every load (an ETag round trip): a deployment changes the files under the same names.
PAGE_CACHE_CONTROL = "no-cache"
# What every answer of the page carries (HSTS apart: CloudFront adds it, over HTTPS).
PAGE_SECURITY_HEADERS = {
    "Content-Security-Policy": PAGE_CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": PAGE_FRAME_OPTIONS,
    "Referrer-Policy": PAGE_REFERRER_POLICY,
    "Permissions-Policy": PAGE_PERMISSIONS_POLICY,
}
