import { redirect, type RouteObject } from 'react-router';
import { PlannedArea } from '../areas/PlannedArea.tsx';
import { SettingsPage } from '../settings/SettingsPage.tsx';
import { AppShell } from '../shell/AppShell.tsx';
import { HOME_PATH, plannedAreas } from '../shell/navigation.ts';
import { NotFoundPage } from '../shell/NotFoundPage.tsx';
import { RouteError } from '../shell/RouteError.tsx';

export const routes: RouteObject[] = [
  {
    path: '/',
    element: <AppShell />,
    // Only reached if the shell itself fails; screens fail inside the shell (below).
    errorElement: <RouteError />,
    children: [
      {
        errorElement: <RouteError />,
        children: [
          { index: true, loader: () => redirect(HOME_PATH) },
          ...plannedAreas.map((area) => ({ path: area, element: <PlannedArea area={area} /> })),
          { path: 'settings', element: <SettingsPage /> },
          { path: '*', element: <NotFoundPage /> },
        ],
      },
    ],
  },
];
