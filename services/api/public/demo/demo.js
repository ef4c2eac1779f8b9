// The demo page. It stands in for the tenant's backend (POST /v1/uploads with the API key from
// the URL fragment), then uploads with Alibaba's SDK holding only the client token, and follows
// the upload until VOD says the video is ready.
(function () {
  'use strict';
  const $ = function (id) {
    return document.getElementById(id);
  };
  const key = new URLSearchParams(location.hash.slice(1)).get('key');

  function log(text, cls) {
    const li = document.createElement('li');
    li.textContent = new Date().toLocaleTimeString() + '  ' + text;
    if (cls) li.className = cls;
    $('log').append(li);
  }

  if (!key) {
    $('no-key').hidden = false;
    $('go').disabled = true;
  }

  $('form').addEventListener('submit', async function (e) {
    e.preventDefault();
    const file = $('file').files[0];
    $('go').disabled = true;
    try {
      const upload = await createUpload(file);
      log('POST /v1/uploads → ' + upload.id + '; the page now holds only its client token (until ' + upload.expiresAt + ')');
      $('progress-box').hidden = false;
      VodIngestUpload.start({ apiUrl: location.origin, upload: upload, file: file, mode: 'auth', onEvent: show });
      void follow(upload);
    } catch (err) {
      log(err.message, 'error');
      $('go').disabled = false;
    }
  });

  // The tenant's backend's part, with the API key.
  async function createUpload(file) {
    const title = $('title').value.trim() || file.name;
    const res = await fetch('/v1/uploads', {
      method: 'POST',
      headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json' },
      body: JSON.stringify({ target: { type: 'vod', title: title, fileName: file.name } }),
    });
    const body = await res.json().catch(function () {
      return {};
    });
    if (!res.ok) throw new Error('POST /v1/uploads: ' + res.status + ' ' + (body.error ? body.error.code + ': ' + body.error.message : ''));
    return body;
  }

  // What the SDK reports.
  function show(type, d) {
    if (type === 'progress') {
      $('bar').value = d.loaded;
      $('percent').textContent = Math.floor(d.loaded * 100) + '%';
      if (d.uploadId)
        $('parts').textContent = d.partsDone + ' parts of ' + (d.partSize / 1048576).toFixed(1) + ' MiB done (multipart upload ' + d.uploadId + ')';
      return;
    }
    const text = {
      started: 'SDK: upload started; asking vod-ingest for upload credentials',
      credentials: 'SDK: uploading to video ' + d.videoId,
      expired: 'SDK: credentials expired; refreshing them',
      succeeded: 'SDK: upload succeeded',
      failed: 'SDK: upload failed: ' + d.code + ' ' + (d.message || ''),
    }[type];
    if (text) log(text, type === 'failed' ? 'error' : '');
  }

  // Polls the upload with the client token until it is ready, failed or expired. A poll may miss
  // a status (VOD can be quick), so events are read from the view's fields, not its status alone.
  async function follow(upload) {
    const seen = {};
    for (;;) {
      await new Promise(function (r) {
        setTimeout(r, 1000);
      });
      const res = await fetch('/v1/uploads/' + encodeURIComponent(upload.id), { headers: { authorization: 'Bearer ' + upload.clientToken } });
      if (!res.ok) return log('GET /v1/uploads/' + upload.id + ': ' + res.status + '; stopped following', 'error');
      const view = await res.json();
      const once = function (name, text, cls) {
        if (!seen[name]) {
          seen[name] = true;
          log(text, cls);
        }
      };
      if (view.status === 'uploading') once('uploading', 'status: uploading (video ' + view.videoId + ')');
      if (view.result)
        once(
          'completed',
          'upload.completed: ' + (view.result.size === undefined ? '' : view.result.size + ' bytes ') + 'stored as video ' + view.videoId,
          'event',
        );
      if (view.status === 'ready') return log('video.ready: VOD finished processing video ' + view.videoId, 'event');
      if (view.status === 'failed') return log('failed: ' + (view.error ? view.error.code + ' ' + view.error.message : ''), 'error');
      if (view.status === 'expired') return log('the upload expired before it completed', 'error');
    }
  }
})();
