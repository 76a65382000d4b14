/** Security: where the account is signed in, the password, two-step verification, and the security log. */
import { useTranslation } from 'react-i18next';
import { Page } from '../shell/Page.tsx';
import { ChangePassword } from './ChangePassword.tsx';
import { SecurityActivity } from './SecurityActivity.tsx';
import { SignedInDevices } from './SignedInDevices.tsx';
import { TwoStepVerification } from './TwoStepVerification.tsx';

export function SecurityPage() {
  const { t } = useTranslation();
  return (
    <Page title={t('nav.security')}>
      <p className="lead">{t('security.lead')}</p>
      <SignedInDevices />
      <ChangePassword />
      <TwoStepVerification />
      <SecurityActivity />
    </Page>
  );
}
