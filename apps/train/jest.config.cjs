// Two workers: the train app's tests spend most of their time waiting on the processes they
// start (training runs, a Slurm cluster's queue), so two files at once roughly halve the project's
// wall time, the longest of `nx test` (jest's default on 2 cores is one worker).
module.exports = { ...require('../../jest.preset.js'), displayName: 'train', maxWorkers: 2 };
