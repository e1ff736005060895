import base, { noIo } from '../../eslint.config.mjs';

export default [...base, noIo];
