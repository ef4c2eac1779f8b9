/*
 * Uploads one file to ApsaraVideo VOD with Alibaba's web upload SDK (npm aliyun-upload-vod),
 * authorized by a vod-ingest direct upload: the page holds the upload's client token, never an
 * API key. Load ali-oss's browser build and the SDK first (the SDK wants window['ali-oss']).
 *
 *   VodIngestUpload.start({ apiUrl, upload, file, mode, sdk, onEvent }) → the SDK's uploader
 *
 * upload: what POST /v1/uploads answered ({ id, clientToken, target, ... }).
 * mode:   'auth' (default) — vod-ingest creates the video and hands out UploadAuth;
 *         'sts'  — the SDK calls VOD itself with an STS token from vod-ingest (Alibaba's sample).
 * sdk:    more options for new AliyunUpload.Vod (partSize, parallel, retryCount, retryDuration).
 * onEvent(type, detail): added, started, credentials, progress, expired, succeeded, failed, end.
 */
(function (global) {
  'use strict';

  function apiClient(apiUrl, token) {
    return async function call(method, path, body) {
      const headers = { authorization: 'Bearer ' + token };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(apiUrl + path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const json = await res.json().catch(function () {
        return {};
      });
      if (!res.ok) throw new Error(method + ' ' + path + ': ' + res.status + ' ' + ((json.error && json.error.code) || ''));
      return json;
    };
  }

  // What the SDK knows of the upload in progress, for the page to show.
  function describe(info) {
    const cp = info.checkpoint || {};
    return {
      videoId: info.videoId,
      bucket: info.bucket,
      object: info.object,
      uploadId: cp.uploadId,
      partsDone: (cp.doneParts || []).length,
      partSize: cp.partSize,
    };
  }

  function start(o) {
    const call = apiClient(o.apiUrl, o.upload.clientToken);
    const emit = o.onEvent || function () {};
    const mode = o.mode || 'auth';
    let uploader;
    const failed = function (err) {
      emit('failed', { code: 'VOD_INGEST_REQUEST_FAILED', message: String(err && err.message) });
    };
    const stsToken = function () {
      return call('POST', '/v1/sts-tokens');
    };

    const credentials = {
      // vod-ingest calls CreateUploadVideo with the upload's own fields (a second call refreshes the same video).
      auth: {
        started: function (info) {
          return call('POST', '/v1/vod/upload-auth').then(function (r) {
            uploader.setUploadAuthAndAddress(info, r.UploadAuth, r.UploadAddress, r.VideoId);
          });
        },
        expired: function (info) {
          return call('POST', '/v1/vod/upload-auth/' + encodeURIComponent(info.videoId) + '/refresh').then(function (r) {
            uploader.resumeUploadWithAuth(r.UploadAuth);
          });
        },
      },
      // Alibaba's STS sample: the SDK sends CreateUploadVideo itself, signed with the STS token.
      sts: {
        started: function (info) {
          return stsToken().then(function (c) {
            uploader.setSTSToken(info, c.AccessKeyId, c.AccessKeySecret, c.SecurityToken);
          });
        },
        // Not resumeUploadWithSTSToken: in SDK 1.0.6 it sends the object key as VideoId to
        // RefreshUploadVideo and then reads an undefined UploadAddress. setSTSToken on a file that
        // already has its videoId sends RefreshUploadVideo for that video and resumes the same
        // multipart upload from the checkpoint the SDK holds.
        expired: function (info) {
          return stsToken().then(function (c) {
            uploader.setSTSToken(info, c.AccessKeyId, c.AccessKeySecret, c.SecurityToken);
          });
        },
      },
    }[mode];
    if (!credentials) throw new Error('mode must be auth or sts');

    const sdk = o.sdk || {};
    uploader = new global.AliyunUpload.Vod({
      userId: sdk.userId || '1', // the account id; only reported in the SDK's telemetry
      region: sdk.region || 'cn-shanghai',
      partSize: sdk.partSize || 1048576,
      parallel: sdk.parallel || 5,
      retryCount: sdk.retryCount || 3,
      retryDuration: sdk.retryDuration || 2,
      addFileSuccess: function (info) {
        emit('added', { name: info.file.name, size: info.file.size });
      },
      onUploadstarted: function (info) {
        emit('started', describe(info));
        credentials.started(info).then(function () {
          emit('credentials', describe(info));
        }, failed);
      },
      onUploadProgress: function (info, total, loaded) {
        emit('progress', Object.assign(describe(info), { total: total, loaded: loaded }));
      },
      onUploadTokenExpired: function (info) {
        emit('expired', describe(info));
        credentials.expired(info).then(function () {
          emit('credentials', describe(info));
        }, failed);
      },
      onUploadSucceed: function (info) {
        emit('succeeded', describe(info));
      },
      onUploadFailed: function (info, code, message) {
        emit('failed', Object.assign(describe(info), { code: code, message: message }));
      },
      onUploadCanceled: function (info) {
        emit('failed', Object.assign(describe(info), { code: 'Canceled' }));
      },
      onUploadEnd: function () {
        emit('end', {});
      },
    });

    // The SDK reads the video's fields from addFile's paramData; UserData goes to VOD as JSON, so
    // it is given as an object. Extend.uploadId tells vod-ingest which upload the video belongs to.
    const vod = mode === 'sts' ? { Title: o.upload.target.title, UserData: { Extend: { uploadId: o.upload.id } } } : {};
    uploader.addFile(o.file, null, null, null, JSON.stringify({ Vod: vod }));
    uploader.startUpload();
    return uploader;
  }

  global.VodIngestUpload = { start: start };
})(window);
