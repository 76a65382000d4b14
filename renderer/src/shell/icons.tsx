/**
 * The few line icons the shell uses, drawn here rather than pulled from a
 * package. Decorative only: every icon sits next to text or inside a control
 * with its own accessible name, so they are hidden from assistive tech.
 */
import type { ReactNode } from 'react';

function Icon({ children }: { children: ReactNode }) {
  return (
    <svg
      className="icon"
      viewBox="0 0 24 24"
      width="20"
      height="20"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.75"
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      {children}
    </svg>
  );
}

export const JobsIcon = () => (
  <Icon>
    <rect x="3" y="7" width="18" height="13" rx="2" />
    <path d="M8.5 7V5.5A1.5 1.5 0 0 1 10 4h4a1.5 1.5 0 0 1 1.5 1.5V7" />
    <path d="M3 12.5h18" />
  </Icon>
);

export const ContractsIcon = () => (
  <Icon>
    <path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z" />
    <path d="M14 3v5h5" />
    <path d="m9 14.5 2 2 4-4" />
  </Icon>
);

export const MessagesIcon = () => (
  <Icon>
    <path d="M20 12a8 8 0 0 1-11.5 7.2L4 20.5l1.3-4.2A8 8 0 1 1 20 12z" />
  </Icon>
);

export const CallsIcon = () => (
  <Icon>
    <rect x="3" y="6.5" width="12.5" height="11" rx="2" />
    <path d="m15.5 10.5 5-3v9l-5-3z" />
  </Icon>
);

export const WalletIcon = () => (
  <Icon>
    <path d="M18 7V5.5A1.5 1.5 0 0 0 16.5 4H5.5A2.5 2.5 0 0 0 3 6.5v11A2.5 2.5 0 0 0 5.5 20h13a1.5 1.5 0 0 0 1.5-1.5v-10A1.5 1.5 0 0 0 18.5 7H5.5A2.5 2.5 0 0 1 3 4.5" />
    <path d="M16 13.5h.01" />
  </Icon>
);

export const SecurityIcon = () => (
  <Icon>
    <path d="M12 3 4.5 6v5.5c0 4.4 3.1 8.3 7.5 9.5 4.4-1.2 7.5-5.1 7.5-9.5V6z" />
    <path d="m9 12 2 2 4-4" />
  </Icon>
);

export const SettingsIcon = () => (
  <Icon>
    <path d="M4 6h9M17 6h3M4 12h3M11 12h9M4 18h11M19 18h1" />
    <circle cx="15" cy="6" r="2" />
    <circle cx="9" cy="12" r="2" />
    <circle cx="17" cy="18" r="2" />
  </Icon>
);

export const SunIcon = () => (
  <Icon>
    <circle cx="12" cy="12" r="4" />
    <path d="M12 2.5v2M12 19.5v2M2.5 12h2M19.5 12h2M5.3 5.3l1.4 1.4M17.3 17.3l1.4 1.4M5.3 18.7l1.4-1.4M17.3 6.7l1.4-1.4" />
  </Icon>
);

export const MoonIcon = () => (
  <Icon>
    <path d="M20 14.5A8 8 0 1 1 9.5 4a6.5 6.5 0 0 0 10.5 10.5z" />
  </Icon>
);

export const LogoMark = () => (
  <svg className="logo-mark" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false">
    <rect width="24" height="24" rx="6" fill="currentColor" />
    <path
      d="M6.5 17V7.5l5.5 6 5.5-6V17"
      fill="none"
      stroke="var(--color-on-accent)"
      strokeWidth="2"
      strokeLinecap="round"
      strokeLinejoin="round"
    />
  </svg>
);
