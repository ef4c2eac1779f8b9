'use strict';
// The compiled addon: { update(state, bytes), updatePortable(state, bytes), kernel }.
// Throws when it was not built; @vod-ingest/shared's crc64 then uses its JS code.
module.exports = require('./build/Release/crc64_native.node');
