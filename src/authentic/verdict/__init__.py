"""The verdict policy (`policy`): detections and a brand's per-class roles and thresholds in, genuine, counterfeit
or inconclusive out. Pure: it imports nothing of the platform, so the verify route answers shoppers with it and the
training program measures the same answers' error rates with it."""
