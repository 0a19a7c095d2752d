/** Loaded before every test file: its temporary directories are removed once the file is done. */
import { afterAll } from 'vitest';
import { removeTempDirs } from './helpers/temp-dirs.js';

afterAll(() => {
  removeTempDirs();
});
