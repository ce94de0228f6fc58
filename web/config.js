// The page's settings, read before app.js. An empty apiBase means the verify route is on the page's own origin:
// the local gateway serves both, and in AWS the CloudFront distribution routes /verify to the API.
// `options` may override the page's defaults (see the top of app.js), e.g. {maxSide: 1280}.
window.VERIFY_CONFIG = {apiBase: "", options: {}};
