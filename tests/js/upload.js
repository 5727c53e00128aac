// Upload one file with tus-js-client, resuming a previous attempt recorded in a URL store.
// usage: node upload.js ENDPOINT FILE KEY CHUNK_SIZE PARALLEL URL_STORE_FILE
// Prints one JSON line per event on stdout: resume, progress, success (or error, exit 1).
'use strict'
const fs = require('fs')
const path = require('path')
const tus = require('tus-js-client')

const [endpoint, file, key, chunkSize, parallel, storeFile] = process.argv.slice(2)
const say = (event) => process.stdout.write(JSON.stringify(event) + '\n')

const upload = new tus.Upload(fs.createReadStream(file), {
  endpoint,
  chunkSize: Number(chunkSize),
  parallelUploads: Number(parallel),
  metadata: { key, filename: path.basename(file), filetype: 'application/x-blobstream-test' },
  urlStorage: new tus.FileUrlStorage(storeFile),
  // One fingerprint per key: the stored upload is found again whatever the endpoint.
  fingerprint: async () => `blobstream-test-${key}`,
  retryDelays: [0, 250, 500, 1000],
  onProgress (sent, total) { say({ event: 'progress', sent, total }) },
  onSuccess () { say({ event: 'success', url: upload.url }) },
  onError (error) {
    say({ event: 'error', message: String(error) })
    process.exit(1)
  }
})

upload.findPreviousUploads().then((previous) => {
  if (previous.length > 0) {
    const last = previous[previous.length - 1]
    say({ event: 'resume', url: last.uploadUrl || null, parts: last.parallelUploadUrls || null })
    upload.resumeFromPreviousUpload(last)
  }
  upload.start()
})
