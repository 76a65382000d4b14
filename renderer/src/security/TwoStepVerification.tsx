import { useTranslation } from 'react-i18next';

/** Not built yet, and said so: authenticator apps and passkeys arrive next. */
export function TwoStepVerification() {
  const { t } = useTranslation();
  return (
    <section className="card" aria-labelledby="two-step-heading">
      <div className="card-heading">
        <h2 id="two-step-heading">{t('security.twoStep.heading')}</h2>
        <span className="badge badge-muted">{t('security.twoStep.comingNext')}</span>
      </div>
      <p>{t('security.twoStep.body')}</p>
    </section>
  );
}
