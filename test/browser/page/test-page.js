// The tenant's page in the browser tests: the test hands it a direct upload, it uploads the
// picked file and records what the SDK reported in window.uploadEvents for the test to read.
window.uploadEvents = [];
window.startUpload = function (o) {
  VodIngestUpload.start({
    apiUrl: o.apiUrl,
    upload: o.upload,
    mode: o.mode,
    sdk: o.sdk,
    file: document.getElementById('file').files[0],
    onEvent: function (type, detail) {
      window.uploadEvents.push(Object.assign({ type: type, at: Date.now() }, detail));
    },
  });
};
