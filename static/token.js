// The operator token, shared by the load sender and the moderation panel: kept in this tab's
// sessionStorage only, so it never outlives the tab or reaches another site.
const TOKEN_KEY = 'barrage.operatorToken';

export const storedToken = () => {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
};

// keepToken remembers token, or forgets it when empty.
export const keepToken = (token) => {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage refused: the token is asked for again */
  }
};
