import { redirect, type RouteObject } from 'react-router';
import { PlannedArea } from '../areas/PlannedArea.tsx';
import { CallPage } from '../calls/CallPage.tsx';
import { CallsPage } from '../calls/CallsPage.tsx';
import { accountRoutes } from '../auth/accountRoutes.ts';
import { AuthLayout } from '../auth/AuthLayout.tsx';
import { ForgotPasswordPage } from '../auth/ForgotPasswordPage.tsx';
import { RequireSession } from '../auth/RequireSession.tsx';
import { ResetPasswordPage } from '../auth/ResetPasswordPage.tsx';
import { SecondFactorPage } from '../auth/SecondFactorPage.tsx';
import { SignInPage } from '../auth/SignInPage.tsx';
import { SignUpPage } from '../auth/SignUpPage.tsx';
import { VerifyEmailPage } from '../auth/VerifyEmailPage.tsx';
import { GuestJoinPage } from '../guests/GuestJoinPage.tsx';
import { SecurityPage } from '../security/SecurityPage.tsx';
import { SettingsPage } from '../settings/SettingsPage.tsx';
import { AppShell } from '../shell/AppShell.tsx';
import { HOME_PATH, plannedAreas } from '../shell/navigation.ts';
import { AvailabilityPage } from '../meetings/AvailabilityPage.tsx';
import { MeetingReminders } from '../meetings/MeetingReminders.tsx';
import { SchedulePage } from '../meetings/SchedulePage.tsx';
import { NotFoundPage } from '../shell/NotFoundPage.tsx';
import { RouteError } from '../shell/RouteError.tsx';

export const routes: RouteObject[] = [
  {
    // Account screens: outside the shell, for signed-out users.
    element: <AuthLayout />,
    errorElement: <RouteError />,
    children: [
      { path: accountRoutes.signIn, element: <SignInPage /> },
      { path: accountRoutes.secondStep, element: <SecondFactorPage /> },
      { path: accountRoutes.signUp, element: <SignUpPage /> },
      { path: accountRoutes.verifyEmail, element: <VerifyEmailPage /> },
      { path: accountRoutes.forgotPassword, element: <ForgotPasswordPage /> },
      { path: accountRoutes.resetPassword, element: <ResetPasswordPage /> },
    ],
  },
  {
    // A guest's invite link: no account needed, whoever is signed in (or nobody).
    path: '/join/:token',
    element: <GuestJoinPage />,
    errorElement: <RouteError />,
  },
  {
    path: '/',
    element: (
      <RequireSession>
        <AppShell />
        <MeetingReminders />
      </RequireSession>
    ),
    // Only reached if the shell itself fails; screens fail inside the shell (below).
    errorElement: <RouteError />,
    children: [
      {
        errorElement: <RouteError />,
        children: [
          { index: true, loader: () => redirect(HOME_PATH) },
          ...plannedAreas.map((area) => ({ path: area, element: <PlannedArea area={area} /> })),
          { path: 'calls', element: <CallsPage /> },
          { path: 'calls/schedule', element: <SchedulePage /> },
          { path: 'calls/availability', element: <AvailabilityPage /> },
          { path: 'calls/:meetingId', element: <CallPage /> },
          { path: 'security', element: <SecurityPage /> },
          { path: 'settings', element: <SettingsPage /> },
          { path: '*', element: <NotFoundPage /> },
        ],
      },
    ],
  },
];
