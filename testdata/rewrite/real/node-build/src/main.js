const items = [
  { name: 'alpha', amount: 3 },
  { name: 'beta', amount: 11 },
  { name: 'gamma', amount: 7 },
];

if (process.argv.includes('--version')) {
  console.log('2.1.0');
} else {
  console.log(JSON.stringify(summarize(items)));
}
