// Upload one file with tus-js-client in an IETF resumable-upload mode, resuming a previous
// attempt recorded in a URL store.
// usage: node upload_ietf.js ENDPOINT FILE PROTOCOL CHUNK_SIZE URL_STORE_FILE [ABORT_AFTER]
// PROTOCOL is ietf-draft-03 or ietf-draft-05. With ABORT_AFTER (bytes), the upload is
// aborted once that many bytes are acknowledged (exit 3), to be resumed by a second run.
// Prints one JSON line per event on stdout: resume, progress, success (or error, exit 1).
'use strict'
const fs = require('fs')
const tus = require('tus-js-client')

const [endpoint, file, protocol, chunkSize, storeFile, abortAfter] = process.argv.slice(2)
const say = (event) => process.stdout.write(JSON.stringify(event) + '\n')

const upload = new tus.Upload(fs.createReadStream(file), {
  endpoint,
  protocol,
  chunkSize: Number(chunkSize),
  uploadSize: fs.statSync(file).size,
  urlStorage: new tus.FileUrlStorage(storeFile),
  fingerprint: async () => `blobstream-ietf-${endpoint}-${file}`,
  retryDelays: [0, 250, 500, 1000],
  onChunkComplete (size, accepted, total) {
    say({ event: 'progress', accepted, total })
    if (abortAfter && accepted >= Number(abortAfter) && accepted < total) {
      upload.abort(false).then(() => { say({ event: 'aborted', accepted }); process.exit(3) })
    }
  },
  onSuccess () { say({ event: 'success', url: upload.url }) },
  onError (error) {
    say({ event: 'error', message: String(error) })
    process.exit(1)
  }
})

upload.findPreviousUploads().then((previous) => {
  if (previous.length > 0) {
    const last = previous[previous.length - 1]
    say({ event: 'resume', url: last.uploadUrl || null })
    upload.resumeFromPreviousUpload(last)
  }
  upload.start()
})
