'use strict';

const express = require('express');

const PORT = process.env.PORT || 3000;
const app = express();

app.get('/', (req, res) => {
  res.json({ status: 'ok' });
});

if (process.argv.includes('--version')) {
  console.log(require('./package.json').version);
  process.exit(0);
}

app.listen(PORT, () => {
  console.log(`listening on ${PORT}`);
});
