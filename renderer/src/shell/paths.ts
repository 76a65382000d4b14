/** Paths that plain logic needs without pulling in the navigation's icons. */
export const HOME_PATH = '/jobs';
