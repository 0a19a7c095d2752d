/** Loaded before every test file: its temporary directories are removed once the file is done. */
import { afterAll } from 'vitest';
import { removeTempDirs } from './helpers/fixtures.js';

afterAll(() => {
  removeTempDirs();
});
