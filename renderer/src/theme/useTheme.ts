import { useSyncExternalStore } from 'react';
import { themeStore, type ThemeState } from './themeStore.ts';

export function useTheme(): ThemeState {
  return useSyncExternalStore(themeStore.subscribe, themeStore.getState);
}
