/** The main navigation, in order. Each entry is a top-level route. */
import type { ComponentType } from 'react';
import { CallsIcon, ContractsIcon, JobsIcon, MessagesIcon, SecurityIcon, SettingsIcon, WalletIcon } from './icons.tsx';

export { HOME_PATH } from './paths.ts';

/** Areas whose screens are still to be built; each shows an honest empty state meanwhile. */
export const plannedAreas = ['jobs', 'contracts', 'messages', 'wallet'] as const;
export type PlannedAreaId = (typeof plannedAreas)[number];

export type NavigationId = PlannedAreaId | 'calls' | 'security' | 'settings';

export const navigation: readonly { id: NavigationId; path: `/${NavigationId}`; Icon: ComponentType }[] = [
  { id: 'jobs', path: '/jobs', Icon: JobsIcon },
  { id: 'contracts', path: '/contracts', Icon: ContractsIcon },
  { id: 'messages', path: '/messages', Icon: MessagesIcon },
  { id: 'calls', path: '/calls', Icon: CallsIcon },
  { id: 'wallet', path: '/wallet', Icon: WalletIcon },
  { id: 'security', path: '/security', Icon: SecurityIcon },
  { id: 'settings', path: '/settings', Icon: SettingsIcon },
];

export const areaIcons: Record<NavigationId, ComponentType> = Object.fromEntries(
  navigation.map((item) => [item.id, item.Icon]),
) as Record<NavigationId, ComponentType>;
