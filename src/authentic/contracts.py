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

# -- a brand ---------------------------------------------------------------------------------------------
# Classes per brand: ingest moves the brand's per-class counters in one DynamoDB write whose condition checks
# every class's name, about 47 bytes of expression per class, and an expression holds 4 KB (85 classes).
MAX_CLASSES_PER_BRAND = 64

# -- photos ------------------------------------------------------------------------------------------------
JPEG, PNG, HEIC, HEIF = "image/jpeg", "image/png", "image/heic", "image/heif"
PHOTO_MEDIA_TYPES = (JPEG, PNG, HEIC, HEIF)  # what uploads, ingest and verify accept
PHOTO_SUFFIXES = {".jpg": JPEG, ".jpeg": JPEG, ".png": PNG, ".heic": HEIC, ".heif": HEIF}
MAX_PHOTO_PIXELS = 50_000_000  # an uploaded training photo: a 48 MP phone sensor fits; a decompression bomb does not
# A shopper's photo on the verify routes: what a 640 px model needs. A JPEG up to 5120 px a side decodes at 1/8 scale
# to the model's input; more pixels only cost decoding work (26.2 MP, where an upload may have 50).
MAX_VERIFY_PIXELS = 5120 * 5120

# -- the request limits of API Gateway and Lambda (the REST API's, and the local gateway's) --------------------
# API Gateway (REST) refuses a request body over 10 MiB. A Lambda function's synchronous request is the whole proxy
# event, at most 6 MiB; API Gateway base64-encodes a binary body (4 bytes for every 3) into that event, beside the
# headers and the request context, so a photo fits when its base64 form and the envelope stay under 6 MiB.
API_PAYLOAD_LIMIT = 10 * 1024 * 1024
LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024
EVENT_ENVELOPE_ALLOWANCE = 64 * 1024  # headers (twice: single and multi-value), request context, path, query
MAX_PHOTO_REQUEST_BYTES = (LAMBDA_PAYLOAD_LIMIT - EVENT_ENVELOPE_ALLOWANCE) * 3 // 4  # 4,669,440 bytes
MAX_VERIFY_PHOTO_BYTES = MAX_PHOTO_REQUEST_BYTES  # what the verify routes read, as the function receives it
DOWNSCALE_LONG_SIDE_PX = 1600  # what the shopper's page downsizes a photo to before it posts it
PAYLOAD_TOO_LARGE_ERROR = "payload_too_large"
PAYLOAD_TOO_LARGE_MESSAGE = (
    f"The request is too large. A photo can be at most {MAX_PHOTO_REQUEST_BYTES:,} bytes (about "
    f"{MAX_PHOTO_REQUEST_BYTES / 1_000_000:.1f} MB) as sent: API Gateway passes it to the function base64-encoded, "
    f"and a function request is limited to {LAMBDA_PAYLOAD_LIMIT // (1024 * 1024)} MiB "
    f"(any request body to {API_PAYLOAD_LIMIT // (1024 * 1024)} MiB). Downscale the photo, for example to "
    f"{DOWNSCALE_LONG_SIDE_PX} px on its long side as a JPEG, and send it again."
)

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
